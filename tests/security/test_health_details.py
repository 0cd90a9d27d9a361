"""/healthz stays public; its detailed form (?full=1) answers staff, the machine itself and the
holder of the health token only."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

REMOTE = "203.0.113.5"


def full(client: Client, **headers):
    return client.get("/healthz?full=1", **headers)


def test_plain_healthz_is_public_from_anywhere():
    response = Client(REMOTE_ADDR=REMOTE).get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_details_are_refused_to_a_remote_anonymous_client():
    response = full(Client(REMOTE_ADDR=REMOTE))
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "permission_denied"
    assert "components" not in body


def test_a_forged_forwarded_for_does_not_make_a_client_local():
    assert full(Client(REMOTE_ADDR=REMOTE), HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 403


def test_behind_a_local_proxy_the_forwarded_client_is_not_local(settings):
    settings.CPUKB_TRUSTED_PROXIES = 1
    proxied = Client(REMOTE_ADDR="127.0.0.1")
    assert full(proxied, HTTP_X_FORWARDED_FOR=f"127.0.0.1, {REMOTE}").status_code == 403


def test_the_machine_itself_sees_the_details():
    response = full(Client(REMOTE_ADDR="127.0.0.1"))
    assert response.status_code in (200, 503)
    assert set(response.json()["components"]) == {"database", "broker", "workers"}


def test_the_health_token_opens_the_details(settings):
    settings.CPUKB_HEALTH_TOKEN = "health-token-for-tests-0123456789"
    client = Client(REMOTE_ADDR=REMOTE)
    right = full(client, HTTP_AUTHORIZATION="Bearer health-token-for-tests-0123456789")
    wrong = full(client, HTTP_AUTHORIZATION="Bearer health-token-for-tests-012345678")
    assert right.status_code in (200, 503) and "components" in right.json()
    assert wrong.status_code == 403


def test_without_a_configured_token_an_empty_bearer_opens_nothing(settings):
    settings.CPUKB_HEALTH_TOKEN = ""
    assert full(Client(REMOTE_ADDR=REMOTE), HTTP_AUTHORIZATION="Bearer ").status_code == 403


def test_staff_see_the_details_from_anywhere(django_user_model):
    client = Client(REMOTE_ADDR=REMOTE)
    client.force_login(django_user_model.objects.create_user("ops", password="x", is_staff=True))
    assert "components" in full(client).json()
    other = Client(REMOTE_ADDR=REMOTE)
    other.force_login(django_user_model.objects.create_user("user", password="x"))
    assert full(other).status_code == 403
