"""The account page as the phone agent's view: at the top, before the details, the state and
since when, what is owed, the next billing date and cut-off (R3), open confirmations (R4),
holds (R7) and what the system will do next."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountStatus
from tests.billing.factories import BillingProfileFactory
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def support_client(client, make_role_user):
    client.force_login(make_role_user("Support"))
    return client


def page(client, account, language="en"):
    url = reverse("admin:accounts_account_change", args=[account.pk])
    return client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()


def test_an_active_account_at_a_glance_R3(support_client):
    account = AccountFactory(status=AccountStatus.ACTIVE, time_zone="America/New_York")
    BillingProfileFactory(account=account, next_billing_date=date(2030, 12, 11))

    html = page(support_client, account)

    glance = html.index('id="at-a-glance"')
    assert glance < html.index("<fieldset")  # at the top, the details below
    assert "Active since" in html
    assert "Nothing is owed now" in html
    assert "cancel before 2030-12-11 00:00 EST (America/New_York)" in html
    assert "0 pending, 0 overdue" in html
    assert "Charged when its next billing date begins, 2030-12-11 00:00 EST" in html


def test_a_suspended_account_says_what_it_owes_and_when_it_is_cancelled_R11(support_client):
    account = AccountFactory(status=AccountStatus.SUSPENDED, time_zone="Europe/Berlin")
    suspended = datetime(2026, 11, 1, 9, tzinfo=UTC)
    BillingProfileFactory(
        account=account,
        unpaid_since=suspended,
        suspended_at=suspended,
        next_billing_date=date(2026, 11, 1),
        due_at=None,
    )

    html = page(support_client, account, "de")

    assert "45,00 USD für den Monat ab 2026-11-01 (Europe/Berlin)" in html
    assert "Wegen Nichtzahlung gekündigt am 2027-01-3" in html  # day 91 of suspension


def test_a_cancelled_account_under_a_legal_hold_is_kept_R7(support_client):
    account = AccountFactory(
        status=AccountStatus.CANCELLED,
        inactive_since=timezone.now() - timedelta(days=3),
        legal_hold=True,
        legal_hold_reason="Case 2026-17",
    )

    html = page(support_client, account)

    assert "Legal hold: Case 2026-17" in html
    assert "Kept while the legal hold is set" in html
