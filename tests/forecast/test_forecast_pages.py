"""The forecast in the admin (issue 14 items 1 and 2): the next few entries on the account
page, the full list on its own page, and "if cancelled now" on the cancellation call form."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountEvent, AccountStatus, CancellationRequest
from billing.models import LedgerEntry
from core.localtime import local_date
from tests.accounts.factories import CancellationReasonFactory
from tests.billing.factories import BillingProfileFactory, CardFactory
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def support_client(client, make_role_user):
    client.force_login(make_role_user("Support", "support.sue"))
    return client


def card_account(*, days_to_billing: int = 5, **fields):
    account = AccountFactory(time_zone="Europe/Berlin", **fields)
    billing = local_date(timezone.now(), account.zone) + timedelta(days=days_to_billing)
    BillingProfileFactory(account=account, next_billing_date=billing)
    CardFactory(account=account, token="tok_visa")
    return account, billing


def test_the_account_page_shows_the_next_entries_and_links_the_full_forecast(support_client):
    account, billing = card_account()
    page = support_client.get(reverse("admin:accounts_account_change", args=[account.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert f"{billing:%Y-%m-%d} 00:05 CE" in html  # the run at :05 after local midnight
    assert "Charge (plan and add-ons) 45.00 USD (R3)" in html
    full = reverse("admin:accounts_account_forecast", args=[account.pk])
    assert full in html


def test_the_full_forecast_page_lists_every_entry_with_its_assumptions(support_client):
    account, billing = card_account()
    url = reverse("admin:accounts_account_forecast", args=[account.pk])
    html = support_client.get(url, {"days": "200"}).content.decode()
    assert html.count("Charge (plan and add-ons)") >= 6
    assert "The forecast assumes:" in html
    assert "the test gateway&#x27;s own outcome" in html
    assert not LedgerEntry.objects.filter(account=account).exists()


def test_the_full_forecast_page_names_a_bad_window_and_shows_the_default(support_client):
    account, _ = card_account()
    url = reverse("admin:accounts_account_forecast", args=[account.pk])
    page = support_client.get(url, {"days": "5000"})
    assert page.status_code == 200
    assert "Ensure this value is less than or equal to 1098" in page.content.decode()


def test_if_cancelled_now_says_what_is_not_charged_and_the_purge_day_R3_R7(support_client):
    CancellationReasonFactory(name="Too expensive")
    account, billing = card_account()
    url = reverse("admin:accounts_account_cancellation_call", args=[account.pk])
    html = support_client.get(url).content.decode()
    assert "If cancelled now" in html
    assert f"Not charged: Charge (plan and add-ons) of 45.00 USD on {billing:%Y-%m-%d}" in html
    today = local_date(timezone.now(), account.zone)
    purge = today + timedelta(days=121)
    kept = purge - timedelta(days=1)
    assert f"kept until {kept:%Y-%m-%d} and purged on {purge:%Y-%m-%d} (R7)" in html
    # Read to the caller, never done: nothing happened to the account.
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE
    assert not AccountEvent.objects.filter(account=account).exists()
    assert not CancellationRequest.objects.filter(account=account).exists()


def test_if_cancelled_now_under_a_legal_hold_says_never_purged_R7(support_client):
    CancellationReasonFactory(name="Too expensive")
    account, _ = card_account(legal_hold=True, legal_hold_reason="Litigation")
    url = reverse("admin:accounts_account_cancellation_call", args=[account.pk])
    html = support_client.get(url).content.decode()
    assert "never purged while the legal hold is set (R7)" in html
