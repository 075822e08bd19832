"""Failed staff logins are throttled (django-axes): a guessed password stops working, one
address cannot spray a password over many usernames, and behind the TLS proxy the throttle
sees each client's own address (AXES_PROXY_COUNT)."""

import pytest
from axes.helpers import get_client_ip_address
from axes.models import AccessAttempt
from django.test import Client

from core.clientip import client_ip, ipware_settings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quick_password_hashing(settings):
    """Dozens of logins per test: a fast hasher keeps them quick; the throttle is the same."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def attempt(client, username: str, password: str):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR="203.0.113.7",
    )


def test_five_wrong_passwords_lock_the_login_even_with_the_right_one_then(
    client, django_user_model, settings
):
    django_user_model.objects.create_user("clerk", password="right-pw-2026", is_staff=True)

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, "clerk", "guess").status_code == 200  # the form again
    locked = attempt(client, "clerk", "guess")
    after = attempt(client, "clerk", "right-pw-2026")

    assert locked.status_code == 429
    assert after.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_few_mistakes_then_the_right_password_logs_in(client, django_user_model):
    django_user_model.objects.create_user("agent", password="right-pw-2026", is_staff=True)

    attempt(client, "agent", "typo")
    attempt(client, "agent", "typo again")
    response = attempt(client, "agent", "right-pw-2026")

    assert response.status_code == 302
    assert response["Location"] == "/admin/"


# --- Behind the TLS proxy, and one address trying many usernames ------------------------------

PROXY = "10.0.0.2"  # the TLS proxy: every request reaches the web process from here


@pytest.fixture
def behind_the_proxy(settings):
    """Settings as AXES_PROXY_COUNT=1 makes them (backoffice/settings.py)."""
    settings.AXES_IPWARE_PROXY_COUNT, settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ipware_settings(
        1
    )


def via_proxy(client, username: str, password: str, client_address: str, sent: str = ""):
    """A login through the proxy, which appends the address it received from to whatever
    X-Forwarded-For the client sent."""
    forwarded = f"{sent}, {client_address}" if sent else client_address
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded,
    )


def test_behind_the_proxy_one_clients_lockout_does_not_lock_out_the_others(
    behind_the_proxy, django_user_model, settings
):
    django_user_model.objects.create_user("clerk", password="right-pw-2026", is_staff=True)
    guesser, colleague = Client(), Client()

    for _ in range(settings.AXES_FAILURE_LIMIT):
        via_proxy(guesser, "clerk", "guess", "198.51.100.66")
    locked = via_proxy(guesser, "clerk", "right-pw-2026", "198.51.100.66")
    other = via_proxy(colleague, "clerk", "right-pw-2026", "203.0.113.10")

    assert locked.status_code == 429
    assert other.status_code == 302  # logged in: the lockout is the guesser's alone
    assert AccessAttempt.objects.get().ip_address == "198.51.100.66"


def test_behind_the_proxy_a_forged_forwarded_for_does_not_escape_the_lockout(
    behind_the_proxy, django_user_model, settings
):
    django_user_model.objects.create_user("clerk", password="right-pw-2026", is_staff=True)
    guesser = Client()

    statuses = [
        via_proxy(guesser, "clerk", "guess", "198.51.100.66", sent=f"192.0.2.{n}").status_code
        for n in range(settings.AXES_FAILURE_LIMIT + 1)
    ]

    assert statuses[-1] == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.66"}


def test_without_a_proxy_a_forwarded_for_header_is_ignored(client):
    via_proxy(client, "clerk", "guess", "198.51.100.66")

    assert AccessAttempt.objects.get().ip_address == PROXY  # the connection's own address


@pytest.mark.parametrize("proxies", [0, 1, 2])
def test_the_public_endpoints_see_the_client_as_the_login_throttle_does(settings, rf, proxies):
    settings.AXES_IPWARE_PROXY_COUNT, settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ipware_settings(
        proxies
    )
    for forwarded in (
        "",
        "203.0.113.5",
        "192.0.2.1, 203.0.113.5",
        "1.1.1.1, 203.0.113.5, 10.0.0.9",
    ):
        request = rf.get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)

        assert client_ip(request) == get_client_ip_address(request)


def test_one_address_trying_many_usernames_is_locked_out(client, django_user_model, settings):
    """Password spraying: one password over 60 usernames from one address."""
    django_user_model.objects.create_user("clerk", password="right-pw-2026", is_staff=True)

    statuses = [attempt(client, f"staff{n:02d}", "Summer2026!").status_code for n in range(60)]

    limit = settings.LOGIN_ADDRESS_FAILURE_LIMIT
    assert statuses[: limit - 1] == [200] * (limit - 1)
    assert statuses[limit:] == [429] * (60 - limit)
    # The address is locked for every username, the right password too; another is not.
    assert attempt(client, "clerk", "right-pw-2026").status_code == 429
    other = Client().post(
        "/admin/login/?next=/admin/",
        {"username": "clerk", "password": "right-pw-2026", "next": "/admin/"},
        REMOTE_ADDR="198.51.100.20",
    )
    assert other.status_code == 302
