"""Staff screens in German and English: the admin follows the staff member's language (the
browser's Accept-Language, or the switch in the header, kept in a cookie), our own texts come
from the German catalogues, and account-local moments carry the zone's name."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.models import AccountStatus
from tests.billing.factories import BillingProfileFactory
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db
S = AccountStatus
LA = "America/Los_Angeles"


@pytest.fixture
def support_client(client, make_role_user):
    client.force_login(make_role_user("Support", "support.sue"))
    return client


def page(client, url, language=None):
    headers = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    response = client.get(url, **headers)
    assert response.status_code == 200
    return response.content.decode()


def test_the_admin_index_and_a_list_speak_german_for_a_german_browser(admin_client):
    AccountFactory(status=S.ACTIVE)

    index = page(admin_client, "/admin/", "de")
    accounts = page(admin_client, reverse("admin:accounts_account_changelist"), "de")

    assert '<html lang="de"' in index
    assert "Backoffice — Konten, Abrechnung, Compliance" in index  # site header
    assert "Konten nach Status" in index  # dashboard title
    assert "Haltequote des Pausenangebots" in index
    assert "Testzeitraum endet" in accounts  # a filter title
    assert "Innerhalb von 7 Tagen" in accounts  # its lookup
    assert "Accounts by state" not in index and "trial ends" not in accounts


def test_the_same_pages_speak_english_for_an_english_browser(admin_client):
    AccountFactory(status=S.ACTIVE)

    index = page(admin_client, "/admin/", "en")
    accounts = page(admin_client, reverse("admin:accounts_account_changelist"), "en")

    assert "Back office — accounts, billing, compliance" in index
    assert "Accounts by state" in index
    assert "trial ends" in accounts and "Within 7 days" in accounts
    assert "Konten nach Status" not in index and "Testzeitraum endet" not in accounts


def test_the_cancellation_desk_in_german_and_in_english(support_client):
    account = AccountFactory(status=S.ACTIVE, time_zone=LA)
    url = reverse("admin:accounts_account_cancellation_call", args=[account.pk])

    german = page(support_client, url, "de")
    english = page(support_client, url, "en")

    assert 'value="Anruf erfassen"' in german
    assert "Stattdessen Pausieren angeboten" in german
    assert "Benutzername, wie der Anrufer ihn buchstabiert" in german
    assert "Zurück zum Konto" in german
    assert f"Kündigungsanruf: {account.username}" in german
    assert 'value="Record the call"' in english
    assert "Pausing offered instead" in english
    assert "Anruf erfassen" not in english


def test_a_refused_desk_call_explains_itself_in_german(support_client):
    account = AccountFactory(status=S.ACTIVE)
    url = reverse("admin:accounts_account_cancellation_call", args=[account.pk])

    response = support_client.post(
        url,
        {"username": "not-" + account.username, "pause": "declined"},
        HTTP_ACCEPT_LANGUAGE="de",
    )

    assert "Es wurde nichts geändert:" in response.content.decode()


def test_the_language_switch_keeps_german_for_the_next_pages(support_client):
    english = page(support_client, "/admin/")
    assert 'id="language-switch"' in english
    assert reverse("set_language") in english

    response = support_client.post(
        reverse("set_language"), {"language": "de", "next": "/admin/"}, follow=True
    )

    assert response.redirect_chain[0][0] == "/admin/"
    assert support_client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    assert "Sprache wechseln" in response.content.decode()
    # The choice sticks: the next page is German without any Accept-Language.
    account = AccountFactory(status=S.ACTIVE)
    desk = page(
        support_client, reverse("admin:accounts_account_cancellation_call", args=[account.pk])
    )
    assert 'value="Anruf erfassen"' in desk
    # ... and beats an English browser.
    assert "Konten nach Status" in page(support_client, "/admin/", "en")


def test_a_german_staff_member_sees_account_dates_with_the_zone_name_R3(admin_client):
    account = AccountFactory(status=S.ACTIVE, time_zone=LA)
    BillingProfileFactory(account=account, next_billing_date=date(2030, 12, 1))
    trial = AccountFactory(
        status=S.TRIAL, time_zone=LA, trial_ends_at=datetime(2030, 1, 10, 8, tzinfo=UTC)
    )

    account_page = page(
        admin_client, reverse("admin:accounts_account_change", args=[account.pk]), "de"
    )
    desk = page(
        admin_client, reverse("admin:accounts_account_cancellation_call", args=[account.pk]), "de"
    )
    trial_desk = page(
        admin_client, reverse("admin:accounts_account_cancellation_call", args=[trial.pk]), "de"
    )

    # Billing's "last moment to cancel without the next charge" on the account page.
    assert "Letzter Zeitpunkt für eine Kündigung ohne die nächste Belastung" in account_page
    assert "2030-12-01 00:00 PST (America/Los_Angeles)" in account_page
    # The desk: the cut-off in the account's zone, and the local time with the zone's name.
    assert "Kündigung vor 2030-12-01 00:00 PST (America/Los_Angeles)" in desk
    assert "America/Los_Angeles (dort ist es jetzt" in desk
    # The trial's end on the desk, with abbreviation and zone name.
    assert "Er endet von selbst am 2030-01-10 00:00 PST (America/Los_Angeles)" in trial_desk


def test_a_german_staff_member_sees_the_purge_day_on_the_accounts_calendar_R7(admin_client):
    AccountFactory(
        username="gone",
        status=S.CANCELLED,
        time_zone="Europe/Berlin",
        inactive_since=datetime(2026, 3, 1, 22, 30, tzinfo=UTC),  # 1 March, 23:30 in Berlin
    )

    html = page(admin_client, reverse("admin:compliance_retentionaccount_changelist"), "de")

    assert "Löschtag (Kalender des Kontos)" in html
    day = date(2026, 3, 1) + timedelta(days=settings.RETENTION_DAYS + 1)  # day 0 is 1 March
    assert f"{day:%Y-%m-%d} (Europe/Berlin)" in html
