"""A declined card is retried on CARD_RETRY_DAYS (days 1, 3 and 5 after the first decline),
then the account is marked unpaid (R11). The run tries a card at most once per run, and each
retry is counted from the attempt before it: runs that catch up after days away, or come
several times at one moment, keep the spacing instead of using the retries up at once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from billing.models import BillingProfile, CardChargeAttempt
from core.localtime import local_date
from tests.billing.factories import BillingProfileFactory, CardFactory
from tests.billing.helpers import local, run_billing
from tests.factories import AccountFactory
from workflows.details import account_details_change

pytestmark = pytest.mark.django_db

ZONE = "America/New_York"
BILLING_DATE = date(2027, 3, 1)


def declining_account():
    account = AccountFactory(time_zone=ZONE)
    BillingProfileFactory(account=account, next_billing_date=BILLING_DATE)
    CardFactory(account=account, token="tok_decline")
    return account


def on_day(offset: int, hour: int = 0, minute: int = 30):
    day = BILLING_DATE + timedelta(days=offset)
    return local(ZONE, day.year, day.month, day.day, hour, minute)


def attempt_days(account) -> list[int]:
    """The days after the billing date the card was tried on (local calendar)."""
    attempts = CardChargeAttempt.objects.filter(account=account).order_by("at", "id")
    return [(local_date(a.at, account.zone) - BILLING_DATE).days for a in attempts]


def test_three_runs_at_one_moment_try_the_card_once_then_days_1_3_5_then_unpaid_R11():
    account = declining_account()

    for offset in range(8):
        for _ in range(3):
            run_billing(on_day(offset))

    assert attempt_days(account) == [0, 1, 3, 5]
    profile = BillingProfile.objects.get(account=account)
    assert profile.unpaid_since == on_day(5)
    assert "retries over" in profile.unpaid_reason


def test_runs_catching_up_after_a_week_away_try_the_card_once_and_keep_the_spacing_R11():
    """The finding: three runs at one as-of a week after the first decline used every retry at
    once and marked the account unpaid ("retries over")."""
    account = declining_account()
    run_billing(on_day(0))

    # the runs come back a week later, three times at one moment
    for _ in range(3):
        run_billing(on_day(7))

    assert attempt_days(account) == [0, 7]
    profile = BillingProfile.objects.get(account=account)
    assert profile.unpaid_since is None and profile.card_declines == 2
    # the next retry keeps the schedule's gap (days 1 → 3: two days) from this attempt
    assert profile.retry_on == BILLING_DATE + timedelta(days=9)
    for offset in range(7, 14):
        run_billing(on_day(offset, 12))
    assert attempt_days(account) == [0, 7, 9, 11]
    profile.refresh_from_db()
    assert profile.unpaid_since == on_day(11, 12)


def test_a_new_time_zone_keeps_the_retry_on_its_local_day_R11(agent):
    account = declining_account()
    run_billing(on_day(0))
    run_billing(on_day(1))

    account_details_change(
        account=account,
        changes={"time_zone": "Asia/Tokyo"},
        by=agent,
        now=on_day(1, 9),
        reason="Customer moved",
    )

    profile = BillingProfile.objects.get(account=account)
    assert profile.retry_on == BILLING_DATE + timedelta(days=3)
    assert profile.due_at == local("Asia/Tokyo", 2027, 3, 4)
