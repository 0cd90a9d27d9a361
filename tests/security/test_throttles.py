"""Throttles in the shared cache: reads and pages for anonymous clients, every HTML form write,
sign-up and login; the client identity is REMOTE_ADDR unless proxies are trusted."""

import pytest
from django.conf import settings
from django.test import Client, override_settings

from kbsite import throttle

pytestmark = pytest.mark.django_db


def rates(**changed: str):
    return override_settings(CPUKB_THROTTLE_RATES={**settings.CPUKB_THROTTLE_RATES, **changed})


def test_the_cache_is_shared_redis_when_redis_is_configured():
    assert settings.REDIS_URL, "the suite runs with REDIS_URL"
    assert settings.CACHES["default"]["BACKEND"] == "kbsite.cache.PrefixedRedisCache"


def test_anonymous_api_reads_get_429_in_the_api_error_shape(client):
    with rates(anon_read="3/day"):
        statuses = [client.get("/api/cpu-models/").status_code for _ in range(3)]
        refused = client.get("/api/cpu-models/")
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    body = refused.json()
    assert body["code"] == "throttled" and body["error"]
    assert int(refused["Retry-After"]) > 0


def test_a_spoofed_forwarded_for_does_not_give_a_fresh_identity(client):
    with rates(anon_read="2/day"):
        statuses = [
            client.get("/api/cpu-models/", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}").status_code
            for i in range(4)
        ]
    assert statuses == [200, 200, 429, 429]


def test_signed_in_reads_are_not_limited(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("reader", password="x"))
    with rates(anon_read="1/day", anon_page="1/day"):
        assert [client.get("/api/cpu-models/").status_code for _ in range(3)] == [200] * 3
        assert [client.get("/cpus/").status_code for _ in range(3)] == [200] * 3


def test_anonymous_page_views_get_a_429_page(client):
    with rates(anon_page="2/day"):
        statuses = [client.get("/cpus/").status_code for _ in range(2)]
        refused = client.get("/ledger/")
        health = client.get("/healthz")
    assert statuses == [200, 200]
    assert refused.status_code == 429
    assert refused["Content-Type"].startswith("text/html")
    assert "Too many requests" in refused.content.decode()
    assert int(refused["Retry-After"]) > 0
    assert health.status_code == 200  # health checks are never limited


def test_html_form_writes_count_per_account(client, django_user_model):
    user = django_user_model.objects.create_user("writer", password="x")
    client.force_login(user)
    with rates(user_write="2/day"):
        statuses = [client.post("/accounts/token/create/").status_code for _ in range(3)]
    assert statuses == [302, 302, 429]


def test_signups_are_limited_per_address():
    with rates(signup="2/day"):
        answers = [
            Client()
            .post(
                "/accounts/signup/",
                {"username": f"new-{i}", "password1": "kvm-migrates-2008", "password2": "x"},
            )
            .status_code
            for i in range(3)
        ]
        other = (
            Client(REMOTE_ADDR="203.0.113.9")
            .post("/accounts/signup/", {"username": "new-9", "password1": "a", "password2": "b"})
            .status_code
        )
    assert answers == [400, 400, 429]
    assert other == 400  # another address has its own count


def test_login_posts_are_limited_per_address(client):
    with rates(login="3/day"):
        statuses = [
            client.post("/accounts/login/", {"username": f"u{i}", "password": "x"}).status_code
            for i in range(4)
        ]
    assert statuses == [200, 200, 200, 429]


def _request(rf, remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return rf.get("/", **extra)


def test_identity_is_remote_addr_without_trusted_proxies(rf, settings):
    settings.CPUKB_TRUSTED_PROXIES = 0
    assert throttle.client_ip(_request(rf, "198.51.100.4", "1.2.3.4")) == "198.51.100.4"


def test_identity_is_the_nth_forwarded_address_from_the_right(rf, settings):
    settings.CPUKB_TRUSTED_PROXIES = 2
    request = _request(rf, "10.0.0.2", "6.6.6.6, 203.0.113.5, 10.0.0.1")
    assert throttle.client_ip(request) == "203.0.113.5"
    settings.CPUKB_TRUSTED_PROXIES = 1
    assert throttle.client_ip(request) == "10.0.0.1"
    # A header that is not an address list is ignored: REMOTE_ADDR counts.
    assert throttle.client_ip(_request(rf, "10.0.0.2", "nonsense")) == "10.0.0.2"


def test_ipv6_clients_count_per_64(rf, settings):
    settings.CPUKB_TRUSTED_PROXIES = 0
    one = throttle.client_ip(_request(rf, "2001:db8:1:2::1"))
    other = throttle.client_ip(_request(rf, "2001:db8:1:2:ffff::9"))
    assert one == other == "2001:db8:1:2::/64"


def test_throttles_let_requests_through_when_the_cache_is_down(client, monkeypatch):
    # Restored afterwards: the process stops asking a failed cache for a few seconds.
    monkeypatch.setattr(throttle, "_cache_down_until", 0.0)
    unreachable = {
        "default": {
            "BACKEND": "kbsite.cache.PrefixedRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    with override_settings(CACHES=unreachable), rates(anon_read="1/day", anon_page="1/day"):
        assert [client.get("/api/cpu-models/").status_code for _ in range(2)] == [200, 200]
        assert [client.get("/cpus/").status_code for _ in range(2)] == [200, 200]
    assert not throttle.cache_available()  # one failure, then no more waiting on it


def test_clearing_the_cache_keeps_other_keys_of_the_same_redis_database():
    from django.core.cache import cache

    client = cache._cache.get_client(None, write=True)
    client.set("celery-like-key-h19c", "queued")
    cache.set("counted", 1)
    try:
        cache.clear()
        assert cache.get("counted") is None
        assert client.get("celery-like-key-h19c") == b"queued"
    finally:
        client.delete("celery-like-key-h19c")


def test_a_client_retrying_too_fast_still_gets_the_rate(client, monkeypatch):
    """Refused requests are not counted: once the window turns, the client is served again."""
    clock = [1_000_000 * 60.0]  # the start of a minute
    monkeypatch.setattr(throttle.time, "time", lambda: clock[0])
    with rates(anon_read="3/min"):
        first = [client.get("/api/cpu-models/").status_code for _ in range(10)]
        clock[0] += 60 + 60 * 0.99  # next window, 99% in: the last one weighs 3 x 0.01
        second = [client.get("/api/cpu-models/").status_code for _ in range(10)]
    assert first == [200] * 3 + [429] * 7
    assert second == [200] * 2 + [429] * 8


def test_retry_after_is_when_one_more_request_fits():
    # 3/min, 3 let through last minute, 0 this one, at its start: wait for 1/3 of the weight.
    assert throttle.retry_after(0, 3, 0.0, 3, 60) == 20
    # The current window is full: the next one, and then until this one weighs <= 2 of 3.
    assert throttle.retry_after(3, 0, 0.5, 3, 60) == 30 + 20


def test_pages_that_compute_have_a_stricter_anonymous_rate(client):
    with rates(anon_page="100/day", anon_expensive="2/day"):
        compat = [client.get("/compat/", {"tag": "demo-2008"}).status_code for _ in range(3)]
        catalog = client.get("/cpus/").status_code
    assert compat == [200, 200, 429]
    assert catalog == 200  # the ordinary page rate still has room


def test_a_signed_in_page_view_with_the_database_down_is_a_clean_503(
    client, django_user_model, monkeypatch
):
    """The throttle asks who the user is before any view runs: a lost database is still the
    site's 503 page, not a 500."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.db.utils import OperationalError

    client.force_login(django_user_model.objects.create_user("sessioned", password="x"))

    def unavailable(self):
        raise OperationalError("connection refused")

    monkeypatch.setattr(SessionStore, "load", unavailable)
    response = client.get("/cpus/")
    assert response.status_code == 503
    assert "database is unavailable" in response.content.decode()
