"""Every page sends a Content-Security-Policy that allows no inline script, and the pages need
none: their scripts and styles are static files."""

import re

import pytest
from django.contrib.staticfiles import finders

from cpus.models import CpuModel, Host, MatrixRun

pytestmark = pytest.mark.django_db

STRICT = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


def directives(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


@pytest.fixture
def pages(some_hosts) -> list[str]:
    host = Host.objects.get(name=some_hosts[0])
    run = MatrixRun.objects.create(
        selection={"hosts": [host.pk]}, host_ids=[host.pk], host_labels=[host.name]
    )
    return [
        "/",
        "/cpus/",
        f"/cpus/{CpuModel.objects.first().pk}/",
        "/hosts/",
        f"/hosts/{host.pk}/",
        "/reports/",
        "/reports/upload/",
        "/features/",
        "/guest-models/",
        "/compat/",
        "/compat/?tag=demo-2008",
        f"/compat/runs/{run.pk}/",
        "/ledger/",
        "/ledger/record/",
        "/ledger/accuracy",
        "/ledger/contradictions",
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/password_reset/",
        "/no-such-page/",
    ]


def test_every_page_sends_the_strict_policy_and_has_no_inline_script_or_style(client, pages):
    for path in pages:
        response = client.get(path)
        assert response.status_code in (200, 302, 404), (path, response.status_code)
        assert directives(response).items() >= STRICT.items(), path
        if response.status_code != 200:
            continue
        html = response.content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), f"inline script on {path}"
        assert not re.search(r"<style", html), f"inline style element on {path}"
        assert not re.search(r"\sstyle=", html), f"style attribute on {path}"
        assert not re.search(r"\son[a-z]+=", html), f"event handler attribute on {path}"
        for src in re.findall(r'<script[^>]*\bsrc="/static/([^"]+)"', html):
            assert finders.find(src), f"{path} loads missing static file {src}"


def test_signed_in_pages_send_the_policy_too(client, django_user_model, some_hosts):
    client.force_login(django_user_model.objects.create_user("csp", password="x"))
    for path in ("/accounts/profile/", "/reports/upload/", "/ledger/record/", "/compat/"):
        response = client.get(path)
        assert directives(response).items() >= STRICT.items(), path
        assert not re.search(r"\sstyle=|<script>", response.content.decode()), path


def test_api_answers_and_errors_send_the_policy(client):
    for path in ("/api/cpu-models/", "/api/no-such-endpoint/", "/healthz"):
        assert directives(client.get(path))["script-src"] == "'self'", path


def test_swagger_ui_runs_from_files_with_inline_styles_only(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    policy = directives(page)
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self' 'unsafe-inline'"
    html = page.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    script = re.search(r'<script src="(/api/docs/\?[^"]*script[^"]*)"', html).group(1)
    start = client.get(script.replace("&amp;", "&"))
    assert start.status_code == 200
    assert "SwaggerUIBundle" in start.content.decode()
