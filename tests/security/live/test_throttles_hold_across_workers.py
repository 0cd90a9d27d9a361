"""Three gunicorn workers share one count in Redis, and a forged X-Forwarded-For buys nothing."""

import json
import re
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = [pytest.mark.redis, pytest.mark.subprocess]

LIMIT = 10


def get(url: str, headers: dict[str, str]) -> tuple[int, dict, dict]:
    request = urllib.request.Request(url, headers={"Connection": "close", **headers})
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:
            return answer.status, dict(answer.headers), json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


@pytest.mark.django_db(transaction=True)
def test_anonymous_reads_are_limited_once_for_the_whole_site_whatever_the_forwarded_for(
    gunicorn_site,
):
    site = gunicorn_site(
        "--access-logformat", "served-by=%(p)s status=%(s)s",
        GUNICORN_WORKERS="3", GUNICORN_THREADS="2",
        # A day-long window, so the test cannot straddle two windows.
        CPUKB_THROTTLE_ANON_READS=f"{LIMIT}/day",
    )  # fmt: skip

    def one(i: int):
        # Every request claims another client address; none is a trusted proxy's.
        return get(f"{site.url}/api/cpu-models/", {"X-Forwarded-For": f"198.51.100.{i}"})

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(one, range(4 * LIMIT)))

    statuses = [status for status, _, _ in answers]
    assert statuses.count(200) == LIMIT, statuses
    assert statuses.count(429) == 3 * LIMIT, statuses
    refused = next(body for status, _, body in answers if status == 429)
    assert refused["code"] == "throttled"
    headers = next(h for status, h, _ in answers if status == 429)
    assert int(headers["Retry-After"]) > 0
    assert f"available in {headers['Retry-After']} second" in refused["error"]
    # The requests really were spread over several processes: a count per process would have
    # let each of them allow LIMIT.
    pids = set(re.findall(r"served-by=<?(\d+)>? status=(?:200|429)", site.log()))
    assert len(pids) >= 2, site.log()[-2000:]


@pytest.mark.django_db(transaction=True)
def test_behind_one_trusted_proxy_the_proxy_appended_address_is_the_client(gunicorn_site):
    site = gunicorn_site(CPUKB_THROTTLE_ANON_READS="2/day", CPUKB_TRUSTED_PROXIES="1")
    url = f"{site.url}/api/cpu-models/"

    # The client forges a first entry; the proxy appends the address it saw (the last one).
    first = [get(url, {"X-Forwarded-For": f"10.9.9.{i}, 203.0.113.7"})[0] for i in range(3)]
    other = get(url, {"X-Forwarded-For": "10.9.9.1, 203.0.113.8"})[0]

    assert first == [200, 200, 429]
    assert other == 200
