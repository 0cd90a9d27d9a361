"""PostgreSQL stops and starts again under a running server.

While it is down every page and API call fails cleanly: 503 with a short JSON or HTML message
(never a traceback or a 500), /healthz says 503 naming the database, and nothing is half
written. Once it is back the same server answers 200 again, without a restart.
"""

import json
import time
import urllib.error
import urllib.request

import pytest

from cpus.models import CpuModel, FeatureSet, Host, HostReport

pytestmark = [pytest.mark.faults]

DUMP = "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 23\n"


def request(url: str, body: dict | None = None, token: str = "") -> tuple[int, str, str]:
    """(status, content type, text) of a GET, or of a JSON POST when `body` is given."""
    headers = {"Accept": "*/*"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Token {token}"
    req = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def counts() -> tuple[int, int, int, int]:
    return (
        HostReport.objects.count(),
        FeatureSet.objects.count(),
        CpuModel.objects.count(),
        Host.objects.count(),
    )


CHECK = {
    "source": {"host": "xeon-e5462-harpertown"},
    "destination": {"host": "opteron-2378-shanghai"},
    "guest_cpu": "baseline",
}


@pytest.mark.django_db(transaction=True)
def test_postgres_restart_gives_clean_503s_then_the_site_recovers_by_itself(
    demo_pool, token, resilient_live_server, postgres_outage
):
    site = resilient_live_server
    before = counts()
    for path in ("/healthz", "/api/cpu-models/", "/cpus/"):
        assert request(site + path)[0] == 200, path
    assert request(site + "/api/compat/check", CHECK)[0] == 200

    with postgres_outage():
        status, content_type, text = request(site + "/healthz")
        assert status == 503 and content_type.startswith("application/json")
        body = json.loads(text)
        assert body["status"] == "error" and body["database"]

        for path in ("/api/cpu-models/", "/api/hosts/?tag=demo-2008", "/api/migrations/accuracy"):
            status, content_type, text = request(site + path)
            assert status == 503, (path, status, text[:300])
            assert content_type.startswith("application/json"), path
            assert json.loads(text)["code"] == "database_unavailable"

        for body, who in ((CHECK, ""), ({"raw": DUMP, "host_name": "during-outage"}, token)):
            path = "/api/compat/check" if not who else "/api/reports/"
            status, content_type, text = request(site + path, body, who)
            assert status == 503, (path, status, text[:300])
            assert json.loads(text)["error"].startswith("The database is unavailable")

        for path in ("/cpus/", "/compat/", "/"):
            status, content_type, text = request(site + path)
            if path == "/" and status == 200:
                continue  # the home page may need no database at all
            assert status == 503, (path, status, text[:300])
            assert content_type.startswith("text/html"), path
            assert "database is unavailable" in text and "Traceback" not in text

    # The same server, without a restart: the first requests reconnect.
    deadline = time.monotonic() + 30
    while request(site + "/healthz")[0] != 200:
        assert time.monotonic() < deadline, "/healthz did not recover within 30 s"
        time.sleep(0.2)
    for path in ("/api/cpu-models/", "/cpus/", "/api/hosts/?tag=demo-2008"):
        assert request(site + path)[0] == 200, path
    status, _, text = request(site + "/api/compat/check", CHECK)
    assert status == 200 and json.loads(text)["verdict"]
    # Nothing was written by the refused upload; a new one works again.
    assert counts() == before
    status, _, text = request(
        site + "/api/reports/", {"raw": DUMP, "host_name": "after-outage"}, token
    )
    assert status in (201, 400), text[:300]
