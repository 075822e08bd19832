"""Scenario B (R3) and the pause (R8): billing dates are judged on the account's local calendar.

A cancellation before the billing date (local) means that date is never charged, even when
it is already the billing date in UTC; one on the billing date leaves the charge in place,
unrefunded. A paused account pays the pause fee each month, and full price after resuming.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from accounts.models import AccountStatus
from accounts.services import account_pause, account_resume
from billing.models import BillingMode, EntryKind
from billing.selectors import next_billing_date
from tests.billing.factories import (
    AccountAddOnFactory,
    AddOnFactory,
    BillingProfileFactory,
    CardFactory,
)
from tests.billing.helpers import charges, entries, local, run_billing
from tests.factories import AccountFactory
from workflows.cancellation import account_cancel

pytestmark = pytest.mark.django_db

LA = "America/Los_Angeles"
BILLING_DATE = date(2026, 12, 1)


def monthly_account(zone: str = LA, **profile):
    account = AccountFactory(time_zone=zone)
    BillingProfileFactory(account=account, next_billing_date=BILLING_DATE, **profile)
    CardFactory(account=account)
    return account


def run_hourly(start: datetime, hours: int) -> None:
    for hour in range(hours):
        run_billing(start + timedelta(hours=hour, minutes=5))


@pytest.mark.parametrize("hour, minute", [(17, 30), (23, 59)])
def test_cancel_the_evening_before_billing_date_is_never_charged_R3(agent, hour, minute):
    account = monthly_account()
    call = local(LA, 2026, 11, 30, hour, minute)
    assert call.astimezone(UTC).date() == BILLING_DATE  # already the billing date in UTC
    run_billing(call - timedelta(minutes=20))  # a run earlier that evening: not due yet

    account_cancel(account=account, by=agent, now=call, reason="Closing the shop", voluntary=True)
    run_hourly(datetime(2026, 12, 1, 0, tzinfo=UTC), 48)

    assert not charges(account).exists()
    assert not entries(account, EntryKind.CARD_PAYMENT).exists()
    account.refresh_from_db()
    assert next_billing_date(account=account) is None


def test_cancel_at_ten_past_midnight_on_billing_date_keeps_the_charge_unrefunded_R3(agent):
    account = monthly_account()
    AccountAddOnFactory(account=account, addon=AddOnFactory())
    run_billing(local(LA, 2026, 12, 1, 0, 5))
    charge = entries(account, EntryKind.CHARGE).get()
    assert charge.amount == Decimal("65.00")  # $45 plan + $20 add-on
    assert charge.period == BILLING_DATE

    account_cancel(
        account=account, by=agent, now=local(LA, 2026, 12, 1, 0, 10), reason="x", voluntary=True
    )
    run_hourly(datetime(2026, 12, 1, 9, tzinfo=UTC), 24)

    assert list(charges(account)) == [charge]
    assert not entries(account, EntryKind.REFUND).exists()
    assert not account.addons.filter(cancelled_at__isnull=True).exists()  # R6


def test_billing_date_comes_at_local_midnight_not_utc_R3():
    account = monthly_account(zone="Asia/Tokyo")

    run_billing(local("Asia/Tokyo", 2026, 11, 30, 23, 55))
    assert not charges(account).exists()
    run_billing(local("Asia/Tokyo", 2026, 12, 1, 0, 5))  # still Nov 30 in UTC
    assert entries(account, EntryKind.CHARGE).get().period == BILLING_DATE


def test_each_period_is_charged_once_however_often_the_run_repeats_R3():
    account = monthly_account()

    run_hourly(local(LA, 2026, 12, 1, 0, 0), 30)

    assert entries(account, EntryKind.CHARGE).count() == 1
    account.billing_profile.refresh_from_db()
    assert account.billing_profile.next_billing_date == date(2027, 1, 1)
    assert next_billing_date(account=account) == date(2027, 1, 1)


def test_late_run_bills_one_period_not_every_missed_month_R3():
    account = monthly_account()

    run_billing(local(LA, 2027, 2, 10, 12))

    assert entries(account, EntryKind.CHARGE).count() == 1
    account.billing_profile.refresh_from_db()
    assert account.billing_profile.next_billing_date == date(2027, 3, 1)


def test_month_end_anchor_bills_on_the_last_day_of_short_months():
    account = monthly_account(zone="UTC")
    profile = account.billing_profile
    profile.next_billing_date, profile.anchor_day = date(2027, 1, 31), 31
    profile.due_at = datetime(2027, 1, 31, tzinfo=UTC)
    profile.save()

    for day in (date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31)):
        run_billing(datetime(day.year, day.month, day.day, 1, tzinfo=UTC))

    assert sorted(entries(account, EntryKind.CHARGE).values_list("period", flat=True)) == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
    ]


def test_paused_account_pays_the_pause_fee_monthly_and_full_price_after_resume_R8(agent):
    account = monthly_account()
    account_pause(account=account, by=agent, now=local(LA, 2026, 11, 20, 10), reason="Winter")

    run_billing(local(LA, 2026, 12, 1, 0, 5))
    run_billing(local(LA, 2027, 1, 1, 0, 5))
    account_resume(account=account, by=agent, now=local(LA, 2027, 1, 10, 10), reason="Spring")
    run_billing(local(LA, 2027, 2, 1, 0, 5))

    billed = [(e.kind, e.period, e.amount) for e in charges(account).order_by("period")]
    assert billed == [
        (EntryKind.PAUSE_FEE, date(2026, 12, 1), Decimal("9.00")),
        (EntryKind.PAUSE_FEE, date(2027, 1, 1), Decimal("9.00")),
        (EntryKind.CHARGE, date(2027, 2, 1), Decimal("45.00")),
    ]
    assert entries(account, EntryKind.CARD_PAYMENT).count() == 3


def test_paused_prepaid_account_without_card_pays_the_fee_from_its_balance_R8(agent):
    account = AccountFactory(time_zone=LA)
    BillingProfileFactory(
        account=account,
        mode=BillingMode.PREPAID,
        prepaid_balance=Decimal("90.00"),
        next_billing_date=BILLING_DATE,
    )
    account_pause(account=account, by=agent, now=local(LA, 2026, 11, 20, 10), reason="Winter")

    run_billing(local(LA, 2026, 12, 1, 0, 5))

    fee = entries(account, EntryKind.PAUSE_FEE).get()
    assert (fee.amount, fee.prepaid_balance_after) == (Decimal("9.00"), Decimal("81.00"))
    account.refresh_from_db()
    assert account.status == AccountStatus.PAUSED


def test_next_billing_date_is_none_for_trials_and_closed_accounts():
    trial = AccountFactory(status=AccountStatus.TRIAL)
    BillingProfileFactory(account=trial)
    no_profile = AccountFactory()

    assert next_billing_date(account=trial) is None
    assert next_billing_date(account=no_profile) is None
    assert next_billing_date(account=monthly_account()) == BILLING_DATE


def test_cancel_on_the_billing_date_before_the_run_came_still_charges_that_date_once_R3(agent):
    # Kolkata's midnight is at :30 UTC: the hourly run (at :05) comes 35 minutes into the date.
    account = monthly_account(zone="Asia/Kolkata")
    account_cancel(
        account=account,
        by=agent,
        now=local("Asia/Kolkata", 2026, 12, 1, 0, 10),
        reason="x",
        voluntary=True,
    )
    assert next_billing_date(account=account) is None

    run_hourly(local("Asia/Kolkata", 2026, 12, 1, 0, 35) - timedelta(minutes=5), 24)
    run_billing(local("Asia/Kolkata", 2027, 1, 1, 12))
    run_billing(local("Asia/Kolkata", 2027, 2, 1, 12))

    assert [e.period for e in entries(account, EntryKind.CHARGE)] == [BILLING_DATE]
    assert entries(account, EntryKind.CARD_PAYMENT).count() == 1


def test_paused_account_cancelled_on_its_billing_date_is_not_charged_R3_R8(agent):
    account = monthly_account()
    account_pause(account=account, by=agent, now=local(LA, 2026, 11, 20, 10), reason="Winter")
    account_cancel(
        account=account, by=agent, now=local(LA, 2026, 12, 1, 0, 2), reason="x", voluntary=True
    )

    run_hourly(datetime(2026, 12, 1, 8, tzinfo=UTC), 30)

    assert not charges(account).exists()


def test_an_account_reactivated_within_retention_is_billed_again_from_that_day_R7(agent):
    # given an account cancelled the evening before its billing date (nothing charged, R3)
    account = monthly_account()
    account_cancel(
        account=account, by=agent, now=local(LA, 2026, 11, 30, 17, 30), reason="x", voluntary=True
    )
    run_billing(local(LA, 2026, 12, 1, 6, 0))
    assert not charges(account).exists()

    # when it comes back ten days later
    from workflows.reactivation import account_reactivate

    back = local(LA, 2026, 12, 10, 9, 0)
    account_reactivate(account=account, by=agent, now=back, reason="Customer returned")

    # then billing starts again that local day, and the run charges it once
    assert next_billing_date(account=account) == date(2026, 12, 10)
    run_billing(back + timedelta(hours=1))
    run_billing(back + timedelta(hours=2))
    assert charges(account).count() == 1
