"""Under the Content-Security-Policy the pages' scripts still run and Swagger UI still draws.

The ``page`` fixture fails a test on anything the policy blocks (a console error)."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_swagger_ui_renders_the_api_under_the_policy(page):
    response = page.goto("/api/docs/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("CPU Migration KB API")
    expect(page.locator(".opblock").first).to_be_visible()


def test_the_pool_page_copy_button_runs_under_the_policy(page, context, demo_pool):
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    response = page.goto("/compat/?tag=demo-2008")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    button = page.locator("button.copy").first
    button.click()
    expect(button).to_have_text(re.compile("Copied"))
