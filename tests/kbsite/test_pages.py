"""The home page, the admin and the API docs."""

import re

import pytest
import yaml
from django.contrib.staticfiles import finders

AREA_LINKS = ["/cpus/", "/reports/upload/", "/compat/", "/ledger/", "/glossary/", "/api/docs/"]
NAV_LINKS = [
    "/cpus/",
    "/hosts/",
    "/features/",
    "/guest-models/",
    "/reports/upload/",
    "/compat/",
    "/ledger/",
    "/glossary/",
    "/api/docs/",
]


@pytest.mark.django_db
def test_home_page_links_every_area_from_nav_and_body(client):
    response = client.get("/")

    html = response.content.decode()
    nav = html.split("<nav", 1)[1].split("</nav>", 1)[0]
    body = html.split("<main>", 1)[1].split("</main>", 1)[0]
    assert response.status_code == 200
    assert re.findall(r'href="([^"]+)"', nav) == NAV_LINKS
    assert re.findall(r'href="([^"]+)"', body) == AREA_LINKS
    assert "live-migrate" in body


@pytest.mark.django_db
def test_home_page_uses_local_stylesheet(client):
    html = client.get("/").content.decode()

    assert '<link rel="stylesheet" href="/static/kbsite/site.css">' in html
    assert finders.find("kbsite/site.css") is not None
    assert "http://" not in html and "https://" not in html


@pytest.mark.django_db
def test_admin_login_page_is_served(client):
    response = client.get("/admin/login/")

    assert response.status_code == 200
    assert b'name="username"' in response.content


@pytest.mark.django_db
def test_openapi_schema_is_served(client):
    response = client.get("/api/schema/")

    schema = yaml.safe_load(response.content)
    assert response.status_code == 200
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "CPU Migration KB API"


@pytest.mark.django_db
def test_api_docs_load_swagger_ui_locally_without_a_cdn(client):
    response = client.get("/api/docs/")

    html = response.content.decode().lower()
    assert response.status_code == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    for host in ("cdn", "unpkg", "jsdelivr"):
        assert host not in html
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
