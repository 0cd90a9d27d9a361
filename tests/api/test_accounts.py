"""Sign-up, login, the profile's API token, and CSRF on forms."""

import re

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.samples import DUMPS


@pytest.mark.django_db
def test_sign_up_create_token_use_it_and_revoke_it(client):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "ops-anna",
            "password1": "kvm-migrates-2008",
            "password2": "kvm-migrates-2008",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert (
        "ops-anna" in response.content.decode()
        and "You have no API token" in response.content.decode()
    )

    page = client.post("/accounts/token/create/", follow=True).content.decode()
    key = re.search(r'<code id="api-token">(\w+)</code>', page).group(1)
    assert Token.objects.get().key == key

    api = APIClient()
    raw = (DUMPS / "libcpuidraw_XeonE5420_Harpertown.txt").read_text()
    created = api.post(
        "/api/reports/", {"raw": raw}, format="json", HTTP_AUTHORIZATION=f"Token {key}"
    )
    assert created.status_code == 201
    assert created.json()["host"] is None

    client.post("/accounts/token/revoke/")
    assert not Token.objects.exists()
    refused = api.post(
        "/api/reports/", {"raw": raw}, format="json", HTTP_AUTHORIZATION=f"Token {key}"
    )
    assert refused.status_code == 401
    assert refused.json()["code"] == "authentication_failed"


@pytest.mark.django_db
def test_replacing_the_token_invalidates_the_old_one(client, django_user_model):
    user = django_user_model.objects.create_user("bob", password="pw-bob-12345")
    client.force_login(user)
    client.post("/accounts/token/create/")
    old = Token.objects.get(user=user).key
    client.post("/accounts/token/create/")
    assert Token.objects.get(user=user).key != old


@pytest.mark.django_db
def test_login_and_logout(client, django_user_model):
    django_user_model.objects.create_user("carol", password="pw-carol-12345")
    response = client.post(
        "/accounts/login/", {"username": "carol", "password": "pw-carol-12345"}, follow=True
    )
    assert "carol" in response.content.decode()
    assert client.post("/accounts/logout/", follow=True).status_code == 200
    assert client.get("/accounts/profile/").status_code == 302


@pytest.mark.django_db
def test_signup_errors_are_shown(client):
    response = client.post(
        "/accounts/signup/", {"username": "x", "password1": "a", "password2": "b"}
    )
    assert response.status_code == 400
    assert (
        "didn’t match" in response.content.decode() or "didn't match" in response.content.decode()
    )


@pytest.mark.django_db
def test_forms_are_csrf_protected(django_user_model):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/reports/upload/", {"raw": "x"}).status_code == 403
    user = django_user_model.objects.create_user("dave", password="pw-dave-12345")
    strict.force_login(user)
    assert strict.post("/accounts/token/create/").status_code == 403
    assert not Token.objects.exists()
