"""Sign-up refuses weak passwords and lookalike names; password reset needs a mail server."""

import pytest
from django.test import override_settings
from django.urls import NoReverseMatch, clear_url_caches, reverse

pytestmark = pytest.mark.django_db


def signup(client, username: str, password: str):
    return client.post(
        "/accounts/signup/", {"username": username, "password1": password, "password2": password}
    )


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("a", "too short"),
        ("password123", "too common"),
        ("4815162342108", "entirely numeric"),
        ("migrator-anna-1", "too similar"),
    ],
)
def test_weak_passwords_are_refused(client, django_user_model, password, reason):
    response = signup(client, "migrator-anna", password)
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert not django_user_model.objects.filter(username="migrator-anna").exists()


@pytest.mark.parametrize(
    "lookalike",
    [
        "\u0430dmin",  # Cyrillic a
        "admin\u200b",  # zero-width space
        "ａdmin",  # fullwidth a
        "Admin",  # case
    ],
)
def test_lookalikes_of_an_existing_name_are_refused(client, django_user_model, lookalike):
    django_user_model.objects.create_user("admin", password="kvm-migrates-2008")
    before = django_user_model.objects.count()  # the catalog's system account may exist too
    response = signup(client, lookalike, "kvm-migrates-2008")
    assert response.status_code == 400
    assert django_user_model.objects.count() == before


def test_a_plain_ascii_name_and_good_password_are_accepted(client, django_user_model):
    response = signup(client, "ops.anna_2", "kvm-migrates-2008")
    assert response.status_code == 302
    assert django_user_model.objects.filter(username="ops.anna_2").exists()


def test_without_a_mail_server_password_reset_says_to_ask_an_administrator(client):
    page = client.get("/accounts/password_reset/")
    assert page.status_code == 200
    assert "ask an administrator" in page.content.decode().lower()
    assert "<form" not in page.content.decode().split("<main>")[1]
    # Nothing to submit: no e-mail is "sent", no error logged.
    assert client.post("/accounts/password_reset/", {"email": "a@example.org"}).status_code == 405
    with pytest.raises(NoReverseMatch):
        reverse("password_reset_done")
    # The login page links to that explanation.
    assert 'href="/accounts/password_reset/"' in client.get("/accounts/login/").content.decode()


def test_with_a_mail_server_password_reset_is_routed(settings):
    import importlib

    import kbsite.urls

    settings.EMAIL_HOST = "smtp.example.org"
    try:
        module = importlib.reload(kbsite.urls)
        clear_url_caches()
        with override_settings(ROOT_URLCONF=module):
            assert reverse("password_reset_done") == "/accounts/password_reset/done/"
    finally:
        settings.EMAIL_HOST = ""
        importlib.reload(kbsite.urls)
        clear_url_caches()
