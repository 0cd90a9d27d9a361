"""Password guessing: after a few failures a name (or an address) is locked, with a backoff."""

import time

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db

PASSWORD = "kvm-migrates-2008"


@pytest.fixture
def victim(django_user_model):
    return django_user_model.objects.create_user("victim", password=PASSWORD)


def login(client: Client, username: str, password: str):
    return client.post("/accounts/login/", {"username": username, "password": password})


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_forty_wrong_passwords_then_the_right_one_is_refused_while_locked(victim, settings):
    # The per-address rate of login posts (30/min) would refuse some of these first: lift it
    # to see the lockout alone.
    settings.CPUKB_THROTTLE_RATES = {**settings.CPUKB_THROTTLE_RATES, "login": "1000/min"}
    client = Client()
    answers = [login(client, "victim", f"guess-{i}") for i in range(40)]
    right = login(client, "victim", PASSWORD)

    assert [a.status_code for a in answers[:5]] == [200] * 5  # checked, wrong
    assert {a.status_code for a in answers[5:]} == {429}  # refused unchecked
    assert right.status_code == 429
    assert not logged_in(client)
    page = right.content.decode()
    assert "Too many failed logins" in page
    assert f"Try again in {right['Retry-After']} seconds" in page


def test_the_lock_holds_for_the_name_from_another_address(victim):
    for i in range(5):
        login(Client(REMOTE_ADDR=f"203.0.113.{i}"), "victim", f"guess-{i}")
    elsewhere = Client(REMOTE_ADDR="198.51.100.77")
    assert login(elsewhere, "victim", PASSWORD).status_code == 429
    assert not logged_in(elsewhere)


def test_the_lock_holds_for_the_name_whatever_its_case(victim):
    client = Client()
    for i in range(5):
        login(client, "VICTIM", f"guess-{i}")
    assert login(Client(REMOTE_ADDR="198.51.100.78"), "victim", PASSWORD).status_code == 429


def test_one_address_trying_many_names_is_locked(django_user_model):
    django_user_model.objects.create_user("other", password=PASSWORD)
    sprayer = Client(REMOTE_ADDR="192.0.2.66")
    with override_settings(CPUKB_LOGIN_IP_FAILURES=6):
        for i in range(6):
            login(sprayer, f"name-{i}", "Summer2024!")
        assert login(sprayer, "other", PASSWORD).status_code == 429
        assert not logged_in(sprayer)
        # The account itself is not locked for everyone else.
        honest = Client(REMOTE_ADDR="192.0.2.67")
        login(honest, "other", PASSWORD)
        assert logged_in(honest)


@override_settings(CPUKB_LOGIN_LOCKOUT_SECONDS=1, CPUKB_LOGIN_LOCKOUT_MAX_SECONDS=60)
def test_the_lock_ends_and_each_further_failure_doubles_it(victim):
    client = Client()
    for i in range(5):
        login(client, "victim", f"guess-{i}")
    first = login(client, "victim", PASSWORD)
    assert first.status_code == 429 and first["Retry-After"] == "1"

    time.sleep(1.1)
    assert login(client, "victim", "guess-5").status_code == 200  # checked again: wrong
    second = login(client, "victim", PASSWORD)
    assert second.status_code == 429 and second["Retry-After"] == "2"

    time.sleep(2.1)
    login(client, "victim", PASSWORD)
    assert logged_in(client)


@override_settings(CPUKB_LOGIN_LOCKOUT_SECONDS=1)
def test_a_successful_login_resets_the_count(victim):
    client = Client()
    for i in range(4):
        login(client, "victim", f"guess-{i}")
    login(client, "victim", PASSWORD)
    assert logged_in(client)
    client.logout()
    for i in range(4):  # four more would have locked it without the reset
        assert login(client, "victim", f"again-{i}").status_code == 200
    login(client, "victim", PASSWORD)
    assert logged_in(client)


def test_the_admin_login_is_locked_too(django_user_model):
    django_user_model.objects.create_superuser("root", password=PASSWORD)
    client = Client()
    for i in range(5):
        client.post("/admin/login/", {"username": "root", "password": f"guess-{i}"})
    client.post("/admin/login/", {"username": "root", "password": PASSWORD})
    assert not logged_in(client)
