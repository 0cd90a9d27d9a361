"""Rate limits that hold across processes, for the API and the HTML pages alike.

- **Who is asking** (``client_ip``): ``REMOTE_ADDR``, the address that opened the connection,
  unless ``CPUKB_TRUSTED_PROXIES`` is N > 0: then the Nth address from the right of
  ``X-Forwarded-For`` (the one the outermost trusted proxy saw), as DRF's ``NUM_PROXIES``
  does. A client-supplied ``X-Forwarded-For`` is ignored by default, so it cannot buy a fresh
  identity. IPv6 clients count per /64, the block one subscriber usually gets.
- **How much** (``hit``): a sliding-window counter in the shared cache (``kbsite/cache.py``):
  the current fixed window's count plus the previous window's, weighted by how much of it still
  overlaps. ``cache.incr`` is atomic in Redis, so parallel requests on several gunicorn workers
  cannot all read the same old count and slip through together.
- **Where**: ``AnonReadThrottle``, ``AnonWriteThrottle``, ``UserWriteThrottle`` for DRF (429 in
  the API's error shape, with ``Retry-After``); ``PageThrottleMiddleware`` for everything else:
  anonymous page views (a stricter rate too for the pages that compute: compatibility, matrix
  runs, comparisons), and every HTML form write (POST), with a stricter scope for sign-up and
  login (429 page, or JSON under ``/api/``). The rates are ``CPUKB_THROTTLE_*`` settings.

If the cache is unreachable (Redis down), requests are let through and a warning is logged:
the site keeps serving, without limits, until Redis is back (asked again every 5 s).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.utils import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from rest_framework.throttling import BaseThrottle

from kbsite.resilience import DatabaseUnavailableMiddleware, error_response

logger = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"60/hour"`` -> ``(60, 3600)``: requests allowed per period in seconds."""
    count, _, period = rate.partition("/")
    return int(count), PERIODS[period]


def _network(address: str) -> str | None:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def client_ip(request: HttpRequest) -> str:
    """The client's address (an IPv6 client's /64) under the trusted-proxy rule above."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.CPUKB_TRUSTED_PROXIES
    if proxies > 0:
        forwarded = [a for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [a.strip() for a in forwarded if a.strip()]
        if forwarded:
            chosen = _network(forwarded[-min(proxies, len(forwarded))])
            if chosen:
                return chosen
    return _network(remote) or remote or "unknown"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until the next request would be allowed (0 when allowed)


# After a cache error, this process stops asking the cache for a few seconds, so a Redis that
# does not answer costs one timeout per process now and then, not one per request.
CACHE_RETRY_SECONDS = 5.0
_cache_down_until = 0.0


def cache_available() -> bool:
    return time.monotonic() >= _cache_down_until


def cache_failed(what: str, exc: Exception) -> None:
    global _cache_down_until
    _cache_down_until = time.monotonic() + CACHE_RETRY_SECONDS
    logger.warning(
        "%s: shared cache unavailable, not applied for %ss: %s", what, CACHE_RETRY_SECONDS, exc
    )


def retry_after(count: int, previous: int, elapsed: float, limit: int, period: int) -> int:
    """Seconds until one more request fits, given the counts of the current window (``count``,
    requests let through) and the previous one, ``elapsed`` (0..1) into the current window."""
    if count + 1 <= limit:
        # Wait for the previous window's weight to fall enough: previous * (1 - e) <= room.
        room = limit - count - 1
        reached = 1.0 - room / previous if previous else elapsed
        wait = (reached - elapsed) * period
    else:
        # Only the next window helps, once this one's weight in it is low enough.
        reached_next = 1.0 - (limit - 1) / count if count else 0.0
        wait = (1.0 - elapsed + max(reached_next, 0.0)) * period
    return max(1, math.ceil(wait - 1e-6))  # 20.000000001 s is 20 s


def hit(scope: str, ident: str, rate: str) -> Verdict:
    """Count one request of ``ident`` in ``scope``; refuse it when over ``rate``.

    A refused request is taken back out of the count, so a client that keeps retrying too fast
    still gets the rate, not nothing.
    """
    if not cache_available():
        return Verdict(True, 0)
    limit, period = parse_rate(rate)
    now = time.time()
    window = int(now // period)
    key = f"throttle:{scope}:{ident}:{window}"
    try:
        cache.add(key, 0, timeout=2 * period + 1)
        try:
            current = cache.incr(key)
        except ValueError:  # expired between add and incr: a fresh window
            cache.add(key, 0, timeout=2 * period + 1)
            current = cache.incr(key)
        previous = cache.get(f"throttle:{scope}:{ident}:{window - 1}", 0)
        elapsed = now / period - window  # fraction of the current window gone by
        if current + previous * (1.0 - elapsed) <= limit:
            return Verdict(True, 0)
        cache.decr(key)
    except Exception as exc:  # the shared cache is down: keep serving, say so
        cache_failed(f"throttle {scope}", exc)
        return Verdict(True, 0)
    return Verdict(False, retry_after(current - 1, previous, elapsed, limit, period))


def rate_for(scope: str) -> str:
    return settings.CPUKB_THROTTLE_RATES[scope]


# --- DRF ------------------------------------------------------------------------------------


class _SharedThrottle(BaseThrottle):
    scope = ""

    def applies(self, request) -> bool:
        raise NotImplementedError

    def ident(self, request) -> str:
        return client_ip(request)

    def allow_request(self, request, view) -> bool:
        self._retry_after = None
        if not self.applies(request):
            return True
        verdict = hit(self.scope, self.ident(request), rate_for(self.scope))
        self._retry_after = verdict.retry_after
        return verdict.allowed

    def wait(self):
        return self._retry_after

    def get_ident(self, request) -> str:
        return client_ip(request)


def _is_authenticated(request) -> bool:
    user = getattr(request, "user", None)
    return bool(user and user.is_authenticated)


class AnonReadThrottle(_SharedThrottle):
    """Reads are public, but one address may not read without end."""

    scope = "anon_read"

    def applies(self, request) -> bool:
        return request.method in SAFE_METHODS and not _is_authenticated(request)


class AnonWriteThrottle(_SharedThrottle):
    scope = "anon_write"

    def applies(self, request) -> bool:
        return request.method not in SAFE_METHODS and not _is_authenticated(request)


class UserWriteThrottle(_SharedThrottle):
    scope = "user_write"

    def applies(self, request) -> bool:
        return request.method not in SAFE_METHODS and _is_authenticated(request)

    def ident(self, request) -> str:
        return f"user-{request.user.pk}"


# --- HTML pages -----------------------------------------------------------------------------

# Paths DRF throttles itself, or that must never be limited (health checks, static files).
UNTHROTTLED_PREFIXES = ("/api/", "/healthz", "/static/")
# Forms whose every POST is an attempt worth limiting on its own, per address.
STRICT_POSTS = {
    "/accounts/signup/": "signup",
    "/accounts/login/": "login",
    "/admin/login/": "login",
}


# Pages that compute per request (pool baselines, what-if, pair checks, matrix heatmaps,
# comparisons): an anonymous address also counts against the stricter "anon_expensive" rate.
EXPENSIVE_PAGE_PREFIXES = ("/compat/", "/cpus/compare/")


def page_scopes(request: HttpRequest) -> list[tuple[str, str]]:
    """The (scope, identity) counts a non-API request goes against; [] when not limited."""
    path = request.path
    if path.startswith(UNTHROTTLED_PREFIXES) or path.startswith(f"/{settings.STATIC_URL}"):
        return []
    user = getattr(request, "user", None)
    signed_in = bool(user and user.is_authenticated)
    if request.method in SAFE_METHODS:
        if signed_in:
            return []
        scopes = [("anon_page", client_ip(request))]
        if path.startswith(EXPENSIVE_PAGE_PREFIXES):
            scopes.append(("anon_expensive", client_ip(request)))
        return scopes
    if path in STRICT_POSTS:
        return [(STRICT_POSTS[path], client_ip(request))]
    if signed_in:
        return [("user_write", f"user-{user.pk}")]
    return [("anon_write", client_ip(request))]


def too_many_requests(request: HttpRequest, retry_after: int) -> HttpResponse:
    response = error_response(
        request,
        status=429,
        code="throttled",
        message=(
            f"Too many requests from your address; try again in {retry_after} seconds."
            if retry_after > 1
            else "Too many requests from your address; try again in a second."
        ),
        title="Too many requests",
    )
    response["Retry-After"] = str(retry_after)
    return response


class PageThrottleMiddleware:
    """Limit anonymous page views and every HTML form write, before the view runs.

    Place it after AuthenticationMiddleware (signed-in users count per account, not per address).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            scopes = page_scopes(request)  # may load the session's user from the database
        except (OperationalError, InterfaceError) as exc:
            # Before the view: DatabaseUnavailableMiddleware would not see it. Same 503.
            return DatabaseUnavailableMiddleware(self.get_response).process_exception(request, exc)
        for scope, ident in scopes:
            verdict = hit(scope, ident, rate_for(scope))
            if not verdict.allowed:
                return too_many_requests(request, verdict.retry_after)
        return self.get_response(request)
