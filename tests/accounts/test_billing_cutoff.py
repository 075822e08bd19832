"""R3 on the account's local calendar: a cancellation recorded before the next billing date
begins in the account's time zone is in time, whatever UTC says."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime

import pytest

from billing import selectors
from core.actors import Actor
from tests.accounts.factories import CancellationReasonFactory
from tests.factories import AccountFactory
from workflows.desk import cancellation_call_take

LA = zoneinfo.ZoneInfo("America/Los_Angeles")
BILLING_DATE = date(2026, 12, 1)


def test_cut_off_is_local_midnight_starting_the_billing_date_R3():
    cutoff = selectors.billing_date_cutoff(billing_date=BILLING_DATE, zone=LA)

    assert cutoff == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # PST is UTC-8


@pytest.fixture
def billing_date_dec_1(monkeypatch):
    """Billing's answer for the next billing date (billing.selectors.next_billing_date)."""
    monkeypatch.setattr(selectors, "next_billing_date", lambda *, account: BILLING_DATE)


@pytest.mark.django_db
def test_call_at_1730_local_the_day_before_is_in_time_though_utc_shows_the_billing_date_R3(
    billing_date_dec_1,
):
    # given an account in Los Angeles billed on 1 December
    account = AccountFactory(time_zone="America/Los_Angeles")
    # when the call comes at 17:30 local on 30 November, which is already 1 December in UTC
    call_at = datetime(2026, 11, 30, 17, 30, tzinfo=LA)
    assert call_at.astimezone(UTC).date() == BILLING_DATE

    # then it is in time
    assert selectors.call_is_in_time(account=account, at=call_at)
    assert selectors.cancellation_deadline(account=account) == datetime(2026, 12, 1, tzinfo=LA)


@pytest.mark.django_db
def test_call_at_local_midnight_starting_the_billing_date_is_too_late_R3(billing_date_dec_1):
    account = AccountFactory(time_zone="America/Los_Angeles")

    assert selectors.call_is_in_time(account=account, at=datetime(2026, 11, 30, 23, 59, tzinfo=LA))
    assert not selectors.call_is_in_time(account=account, at=datetime(2026, 12, 1, 0, 0, tzinfo=LA))


@pytest.mark.django_db
def test_the_desk_records_the_west_of_utc_call_as_in_time_with_the_billing_date_R3(
    billing_date_dec_1, make_role_user
):

    account = AccountFactory(time_zone="America/Los_Angeles")
    agent = Actor.staff(make_role_user("Support"))

    request = cancellation_call_take(
        account=account,
        by=agent,
        now=datetime(2026, 11, 30, 17, 30, tzinfo=LA),
        username_typed=account.username,
        reason=CancellationReasonFactory(name="Too expensive"),
        callers_words="Budget cut",
        pause_accepted=False,
    )

    assert (request.in_time, request.next_billing_date) == (True, BILLING_DATE)


@pytest.mark.django_db
def test_with_billings_own_schedule_the_west_of_utc_call_is_in_time_and_add_ons_end_R3_R6(
    make_role_user,
):
    from billing.models import AccountAddOn
    from tests.billing.factories import AccountAddOnFactory, BillingProfileFactory

    # given billing's record: the account in Los Angeles is next billed on 1 December
    account = AccountFactory(time_zone="America/Los_Angeles")
    BillingProfileFactory(account=account, next_billing_date=BILLING_DATE)
    addon = AccountAddOnFactory(account=account)
    agent = Actor.staff(make_role_user("Support"))
    call_at = datetime(2026, 11, 30, 17, 30, tzinfo=LA)
    assert selectors.cancellation_deadline(account=account) == datetime(2026, 12, 1, tzinfo=LA)

    request = cancellation_call_take(
        account=account,
        by=agent,
        now=call_at,
        username_typed=account.username,
        reason=CancellationReasonFactory(name="Too expensive"),
        callers_words="",
        pause_accepted=False,
    )

    assert (request.in_time, request.next_billing_date) == (True, BILLING_DATE)
    assert AccountAddOn.objects.get(pk=addon.pk).cancelled_at == call_at
