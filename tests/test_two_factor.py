"""Two-factor login for staff (TOTP with django-otp, recovery codes): superusers, Billing and
Compliance reach the admin only after a code from their authenticator app (or a recovery
code, good once); the other roles as TWO_FACTOR_ROLES says. These tests log in as a person
does: the password on the login page, then the code; never force_login."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AccountStatus
from backoffice.twofactor import recovery_codes_issue
from core.models import ChangeRecord
from tests.conftest import role_user
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests"
ADMIN = "/admin/"
TWO_FACTOR = "/admin/two-factor/"


@pytest.fixture(autouse=True)
def _quick_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def staff(django_user_model, role: str):
    if role == "superuser":
        return django_user_model.objects.create_superuser("root.2fa", password=PASSWORD)
    return role_user(django_user_model, role, f"{role.lower()}.2fa")


def log_in_with_password(client: Client, user) -> None:
    response = client.post(
        f"/admin/login/?next={ADMIN}",
        {"username": user.username, "password": PASSWORD, "next": ADMIN},
    )
    assert response.status_code == 302, response.content[:500]


def enrolled(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def code_of(device: TOTPDevice, steps_ahead: int = 0) -> str:
    device.refresh_from_db()
    value = totp(device.bin_key, device.step, device.t0, device.digits, device.drift + steps_ahead)
    return f"{value:0{device.digits}d}"


@pytest.mark.parametrize("role", ["superuser", "Billing", "Compliance"])
def test_a_password_alone_does_not_reach_the_admin_for_a_role_that_needs_two_factors(
    client, django_user_model, role
):
    user = staff(django_user_model, role)
    enrolled(user)
    account = AccountFactory(status=AccountStatus.CANCELLED, legal_hold=True)

    log_in_with_password(client, user)

    for url in (ADMIN, "/admin/billing/ledgerentry/", "/admin/compliance/retentionaccount/"):
        page = client.get(url)
        assert page.status_code == 302, url
        assert page["Location"].startswith(f"{TWO_FACTOR}?next="), url
    # nor does an action posted straight to a list
    client.post(
        "/admin/compliance/retentionaccount/",
        {"action": "set_legal_hold", ACTION_CHECKBOX_NAME: [account.pk], "apply": "1"},
    )
    assert TOTPDevice.objects.filter(user=user).count() == 1
    assert client.get(TWO_FACTOR).status_code == 200


@pytest.mark.parametrize("role", ["superuser", "Billing", "Compliance"])
def test_with_a_valid_code_from_the_app_the_admin_opens_and_the_code_is_not_taken_twice(
    client, django_user_model, role
):
    user = staff(django_user_model, role)
    device = enrolled(user)
    log_in_with_password(client, user)

    wrong = client.post(TWO_FACTOR, {"step": "verify", "code": "000000", "next": ADMIN})
    assert wrong.status_code == 200 and "not valid" in wrong.content.decode()
    assert client.get(ADMIN).status_code == 302
    # the device throttles after a wrong code; the next login starts afresh
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)

    code = code_of(device)
    right = client.post(TWO_FACTOR, {"step": "verify", "code": code, "next": ADMIN})

    assert right.status_code == 302 and right["Location"] == ADMIN
    assert client.get(ADMIN).status_code == 200
    # the same code does not open a second session
    other = Client()
    log_in_with_password(other, user)
    again = other.post(TWO_FACTOR, {"step": "verify", "code": code, "next": ADMIN})
    assert again.status_code == 200
    assert other.get(ADMIN).status_code == 302


def test_enrolment_from_the_admin_confirms_the_app_and_hands_out_recovery_codes(
    client, django_user_model
):
    user = staff(django_user_model, "Compliance")
    log_in_with_password(client, user)

    sent_on = client.get(ADMIN)
    assert sent_on["Location"].startswith(TWO_FACTOR)
    page = client.get(sent_on["Location"]).content.decode()
    assert "<svg" in page and 'id="two-factor-key"' in page
    pending = TOTPDevice.objects.get(user=user, confirmed=False)

    wrong = client.post(TWO_FACTOR, {"step": "enrol", "code": "123456"})
    assert "does not match" in wrong.content.decode()
    # a wrong code makes the next try wait (django-otp's throttle); the wait is over
    TOTPDevice.objects.filter(pk=pending.pk).update(throttling_failure_count=0)
    done = client.post(TWO_FACTOR, {"step": "enrol", "code": code_of(pending), "next": ADMIN})

    codes = re.findall(r"<li><code>([a-z2-7]+)</code></li>", done.content.decode())
    assert len(codes) == 10
    assert TOTPDevice.objects.get(user=user).confirmed
    assert client.get(ADMIN).status_code == 200


def test_a_recovery_code_works_once(client, django_user_model):
    user = staff(django_user_model, "Billing")
    enrolled(user)
    first, second, *_ = recovery_codes_issue(user)

    log_in_with_password(client, user)
    used = client.post(TWO_FACTOR, {"step": "verify", "code": first.upper(), "next": ADMIN})
    assert used.status_code == 302
    assert client.get(ADMIN).status_code == 200
    assert StaticToken.objects.filter(device__user=user).count() == 9

    again = Client()
    log_in_with_password(again, user)
    refused = again.post(TWO_FACTOR, {"step": "verify", "code": first, "next": ADMIN})
    assert refused.status_code == 200 and "not valid" in refused.content.decode()
    assert again.get(ADMIN).status_code == 302


def test_new_recovery_codes_replace_the_old_ones(client, django_user_model):
    user = staff(django_user_model, "Compliance")
    device = enrolled(user)
    old = recovery_codes_issue(user)
    log_in_with_password(client, user)
    client.post(TWO_FACTOR, {"step": "verify", "code": code_of(device), "next": ADMIN})

    renewed = client.post(TWO_FACTOR, {"step": "recovery_codes"})

    new = re.findall(r"<li><code>([a-z2-7]+)</code></li>", renewed.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    assert set(StaticToken.objects.filter(device__user=user).values_list("token", flat=True)) == (
        set(new)
    )


@pytest.mark.parametrize(
    ("roles", "needs_it"),
    [(["Billing", "Compliance"], False), (["Billing", "Compliance", "Support", "Manager"], True)],
)
@pytest.mark.parametrize("role", ["Support", "Manager"])
def test_the_other_roles_log_in_with_a_second_factor_as_the_setting_says(
    client, django_user_model, settings, role, roles, needs_it
):
    settings.TWO_FACTOR_ROLES = roles
    user = staff(django_user_model, role)

    log_in_with_password(client, user)
    page = client.get(ADMIN)

    if needs_it:
        assert page.status_code == 302 and page["Location"].startswith(TWO_FACTOR)
    else:
        assert page.status_code == 200


def test_someone_who_turned_it_on_is_asked_for_it_whatever_the_role(client, django_user_model):
    user = staff(django_user_model, "Support")
    enrolled(user)

    log_in_with_password(client, user)

    assert client.get(ADMIN)["Location"].startswith(TWO_FACTOR)


def test_the_demo_waiver_lets_the_password_alone_in(client, django_user_model, settings):
    settings.TWO_FACTOR_WAIVED = True
    user = staff(django_user_model, "superuser")

    log_in_with_password(client, user)

    assert client.get(ADMIN).status_code == 200


def test_a_staff_member_waiting_for_the_code_can_log_out(client, django_user_model):
    user = staff(django_user_model, "Billing")
    enrolled(user)
    log_in_with_password(client, user)

    client.post("/admin/logout/")

    assert "_auth_user_id" not in client.session


def test_a_superuser_resets_a_lost_phone_and_the_change_log_says_so(client, django_user_model):
    clerk = staff(django_user_model, "Billing")
    device = enrolled(clerk)
    recovery_codes_issue(clerk)
    root = django_user_model.objects.create_superuser("root.reset", password=PASSWORD)
    root_device = enrolled(root)
    log_in_with_password(client, root)
    client.post(TWO_FACTOR, {"step": "verify", "code": code_of(root_device), "next": ADMIN})

    client.post(
        "/admin/otp_totp/totpdevice/",
        {
            "action": "reset_two_factor",
            ACTION_CHECKBOX_NAME: [device.pk],
            "apply": "1",
            "reason": "lost phone, identity checked",
        },
    )

    assert not TOTPDevice.objects.filter(user=clerk).exists()
    assert not StaticToken.objects.filter(device__user=clerk).exists()
    record = ChangeRecord.objects.get(model="auth.user", object_id=str(clerk.pk))
    assert record.by_user == root and record.reason == "lost phone, identity checked"


def test_the_two_factor_page_speaks_german_for_a_german_browser(client, django_user_model):
    user = staff(django_user_model, "Compliance")
    log_in_with_password(client, user)

    page = client.get(TWO_FACTOR, HTTP_ACCEPT_LANGUAGE="de").content.decode()

    assert "Zwei-Faktor-Anmeldung" in page
    assert "Ihre Rolle meldet sich mit einem zweiten Faktor an" in page
