"""The ledger shows each account's running balance (issue 13, item 3): summed by the database
with a window over the account's entries, by the signs of billing.selectors.LEDGER_SIGNS;
only when the list is filtered to one account."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import translation

from billing import selectors
from billing.models import EntryKind, LedgerEntry
from tests.billing.factories import BillingProfileFactory
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 9, 1, 8, 0, tzinfo=ZoneInfo("UTC"))


def _entry(account, minutes, kind, amount, currency="EUR", **extra):
    return LedgerEntry.objects.create(
        account=account,
        at=T0 + timedelta(minutes=minutes),
        kind=kind,
        amount=Decimal(amount),
        currency=currency,
        by_job="test",
        **extra,
    )


@pytest.fixture
def history():
    """A prepaid term bought by card, two months consumed, a pause fee from the balance,
    a charge and its refund, a recorded payment; and another account's entries between."""
    account = AccountFactory(username="anna-bergmann")
    other = AccountFactory(username="bruno-keller")
    _entry(account, 0, EntryKind.PREPAYMENT_PURCHASE, "120.00", prepaid_balance_after="120.00")
    _entry(account, 0, EntryKind.CARD_PAYMENT, "120.00")  # same moment: ordered by id
    _entry(other, 1, EntryKind.CHARGE, "99.00")
    _entry(account, 10, EntryKind.PREPAID_CONSUMPTION, "10.00", period="2026-10-01")
    _entry(account, 20, EntryKind.PREPAID_CONSUMPTION, "10.00", period="2026-11-01")
    _entry(account, 30, EntryKind.PAUSE_FEE, "9.00", period="2026-12-01")
    charge = _entry(account, 40, EntryKind.CHARGE, "15.00", period="2027-01-01")
    _entry(account, 40, EntryKind.CARD_PAYMENT, "15.00")
    _entry(account, 50, EntryKind.REFUND, "15.00", refund_of=charge)
    _entry(account, 60, EntryKind.PAYMENT, "30.00")
    _entry(account, 70, EntryKind.PAYMENT, "5.00", currency="USD")  # its own balance
    _entry(account, 80, EntryKind.FORFEITURE, "121.00", prepaid_balance_after="0")
    return account


EXPECTED = [  # oldest first: (kind, balance after)
    ("prepayment_purchase", Decimal("0.00")),
    ("card_payment", Decimal("120.00")),
    ("prepaid_consumption", Decimal("110.00")),
    ("prepaid_consumption", Decimal("100.00")),
    ("pause_fee", Decimal("91.00")),
    ("charge", Decimal("76.00")),
    ("card_payment", Decimal("91.00")),
    ("refund", Decimal("91.00")),
    ("payment", Decimal("121.00")),
    ("payment", Decimal("5.00")),
    ("forfeiture", Decimal("0.00")),
]


def test_a_known_sequence_of_entries_gives_its_running_balances(history):
    rows = selectors.ledger_with_balance(
        LedgerEntry.objects.order_by("at", "id"), account_id=history.pk
    ).values_list("kind", "balance_after")
    assert list(rows) == EXPECTED


def test_a_filter_narrows_the_rows_not_the_sum(history):
    """The balance after the pause fee counts the purchase and consumptions before it even
    when the list shows pause fees only."""
    rows = selectors.ledger_with_balance(
        LedgerEntry.objects.filter(kind=EntryKind.PAUSE_FEE), account_id=history.pk
    ).values_list("balance_after", flat=True)
    assert list(rows) == [Decimal("91.00")]


def test_the_prepaid_balance_is_the_running_balance(history):
    """The sign rule agrees with billing's own prepaid balance where it writes one."""
    rows = selectors.ledger_with_balance(
        LedgerEntry.objects.filter(prepaid_balance_after__isnull=False, currency="EUR").exclude(
            kind=EntryKind.PREPAYMENT_PURCHASE
        ),
        account_id=history.pk,
    ).values_list("prepaid_balance_after", "balance_after")
    assert all(prepaid == balance for prepaid, balance in rows)


def test_the_ledger_list_shows_the_balance_for_one_account_in_german(
    client, make_role_user, history
):
    client.force_login(make_role_user("Billing", "bill.clerk"))
    url = reverse("admin:billing_ledgerentry_changelist")
    with translation.override("de"):
        whole = client.get(url, HTTP_ACCEPT_LANGUAGE="de").content.decode()
        one = client.get(f"{url}?account={history.pk}", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Saldo danach: nach einem Konto filtern" in whole
    assert "91.00 EUR" not in whole
    assert "Saldo danach" in one and "nach einem Konto filtern" not in one
    assert "121.00 EUR" in one and "91.00 EUR" in one and "5.00 USD" in one
    assert "bruno-keller" not in one


def test_a_malformed_account_filter_shows_no_entries(client, make_role_user, history):
    client.force_login(make_role_user("Billing", "bill.clerk"))
    response = client.get(reverse("admin:billing_ledgerentry_changelist") + "?account=x1")
    assert response.status_code == 200
    assert "anna-bergmann" not in response.content.decode().split('id="result_list"')[-1]


def test_the_billing_profile_links_to_its_ledger(client, make_role_user):
    profile = BillingProfileFactory()
    client.force_login(make_role_user("Billing", "bill.clerk"))
    html = client.get(
        reverse("admin:billing_billingprofile_change", args=[profile.pk])
    ).content.decode()
    assert f"?account={profile.account_id}" in html and 'id="ledger-link"' in html
