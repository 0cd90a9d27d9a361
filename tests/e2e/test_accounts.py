"""In the browser: sign up, create an API token, use it, revoke it."""

import json
import re
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PASSWORD = "Harpertown-to-Shanghai-2008"


def api_status(live_server, token: str) -> int:
    """Status of an authenticated write with no body, from outside the browser (no cookies):
    400 means the token was accepted and the empty body refused, 401 that the token was not."""
    request = urllib.request.Request(
        f"{live_server.url}/api/hosts/",
        data=json.dumps({}).encode(),
        method="POST",
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_sign_up_create_a_token_and_revoke_it(page, live_server, screenshot):
    page.goto("/")
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/accounts/signup/$"))
    page.fill("input[name=username]", "avi")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.get_by_role("button", name="Create account").click()

    expect(page).to_have_url(re.compile(r"/accounts/profile/$"))
    expect(page.locator("h1")).to_have_text("avi")
    expect(page.get_by_text("Welcome, avi. Your account is ready.")).to_be_visible()
    expect(page.get_by_role("navigation", name="Account")).to_have_text("avi")
    expect(page.get_by_text("You have no API token.")).to_be_visible()

    page.get_by_role("button", name="Create a token").click()
    token = page.locator("code#api-token")
    expect(token).to_have_text(re.compile(r"^[0-9a-f]{40}$"))
    expect(page.get_by_text("A new API token was created.")).to_be_visible()
    first = token.inner_text()
    assert api_status(live_server, first) == 400
    screenshot(page, "profile")

    page.get_by_role("button", name="Replace with a new token").click()
    expect(token).not_to_have_text(first)
    second = token.inner_text()
    assert api_status(live_server, first) == 401
    assert api_status(live_server, second) == 400

    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("Your API token was revoked.")).to_be_visible()
    expect(token).to_have_count(0)
    expect(page.get_by_role("button", name="Create a token")).to_be_visible()
    assert api_status(live_server, second) == 401

    # Logging out and back in keeps the account.
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/$"))
    page.get_by_role("link", name="Log in").click()
    page.fill("input[name=username]", "avi")
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/accounts/profile/$"))
    expect(page.get_by_text("You have no API token.")).to_be_visible()


def test_a_mismatched_password_is_refused_in_the_page(page):
    page.goto("/accounts/signup/")
    page.fill("input[name=username]", "avi")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD + "!")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("span.errors")).to_contain_text("password fields didn")
    expect(page.get_by_role("navigation", name="Account")).to_contain_text("Sign up")
