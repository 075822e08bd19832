"""Scenario A (R11): a $540 prepaid term (12 × $45) reaches zero.

Without a card the account is suspended that day with one notice, stays suspended, and is
cancelled as involuntary on day 91 (not 90) on its local calendar; a payment before then
reactivates it. With a card the term renews once; a declined card follows the suspension
path after the retry schedule.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail

from accounts.models import AccountEvent, AccountStatus
from billing.calendar import add_months
from billing.models import BillingMode, CardChargeAttempt, EntryKind
from tests.billing.factories import BillingProfileFactory, CardFactory
from tests.billing.helpers import (
    cancel_unpaid,
    entries,
    local,
    run_billing,
    suspend_unpaid,
)
from tests.factories import AccountFactory
from tests.jobrun import job
from workflows.payments import payment_record

pytestmark = pytest.mark.django_db

ZONE = "America/New_York"
BOUGHT = date(2026, 1, 15)
ZERO_DAY = date(2027, 1, 15)  # the 12th month consumed: the balance reaches zero


def prepaid_account(*, card_token: str | None = None):
    account = AccountFactory(time_zone=ZONE, primary_email="owner@lakeside.example")
    BillingProfileFactory(
        account=account,
        mode=BillingMode.PREPAID,
        prepaid_months=12,
        prepaid_balance=Decimal("540.00"),
        next_billing_date=add_months(BOUGHT, 1, 15),
    )
    if card_token:
        CardFactory(account=account, token=card_token)
    return account


def at(day: date, hour: int = 0, minute: int = 30):
    return local(ZONE, day.year, day.month, day.day, hour, minute)


def consume_eleven_months(account):
    for month in range(1, 12):
        run_billing(at(add_months(BOUGHT, month, 15)))
    account.billing_profile.refresh_from_db()
    assert account.billing_profile.prepaid_balance == Decimal("45.00")


def reach_zero_and_suspend(account, capture):
    consume_eleven_months(account)
    with capture(execute=True):
        run_billing(at(ZERO_DAY))
        suspend_unpaid(at(ZERO_DAY, 0, 50))


def test_prepaid_at_zero_without_card_is_suspended_that_day_with_one_notice_R11(
    django_capture_on_commit_callbacks,
):
    account = prepaid_account()

    reach_zero_and_suspend(account, django_capture_on_commit_callbacks)

    account.refresh_from_db()
    assert account.status == AccountStatus.SUSPENDED
    assert entries(account, EntryKind.PREPAID_CONSUMPTION).count() == 12
    assert [m.to for m in mail.outbox] == [["owner@lakeside.example"]]
    assert "suspended" in mail.outbox[0].subject

    # the next day: still suspended, no second notice
    with django_capture_on_commit_callbacks(execute=True):
        run_billing(at(ZERO_DAY + timedelta(days=1)))
        assert suspend_unpaid(at(ZERO_DAY + timedelta(days=1), 0, 50)) == {}
    account.refresh_from_db()
    assert account.status == AccountStatus.SUSPENDED
    assert len(mail.outbox) == 1
    assert AccountEvent.objects.filter(account=account, to_status="suspended").count() == 1


def test_suspended_unpaid_is_cancelled_as_involuntary_on_day_91_not_90_R11(
    django_capture_on_commit_callbacks,
):
    account = prepaid_account()
    reach_zero_and_suspend(account, django_capture_on_commit_callbacks)
    day_90 = ZERO_DAY + timedelta(days=90)
    day_91 = ZERO_DAY + timedelta(days=91)

    # late on day 90 locally is already day 91 in UTC: still not cancelled
    assert cancel_unpaid(at(day_90, 23, 30)) == {}
    account.refresh_from_db()
    assert account.status == AccountStatus.SUSPENDED

    assert cancel_unpaid(at(day_91, 0, 10)) == {"cancelled": 1}

    account.refresh_from_db()
    assert account.status == AccountStatus.CANCELLED
    event = AccountEvent.objects.get(account=account, to_status="cancelled")
    assert event.kind == "cancelled_involuntary"
    assert event.by_job == "cancel_unpaid"

    # untouched after: no second cancellation, no charge, no mail
    events = AccountEvent.objects.filter(account=account).count()
    ledger = entries(account).count()
    for later in (day_91, day_91 + timedelta(days=1), day_91 + timedelta(days=40)):
        cancel_unpaid(at(later, 1))
        run_billing(at(later, 1))
        suspend_unpaid(at(later, 1))
    assert AccountEvent.objects.filter(account=account).count() == events
    assert entries(account).count() == ledger
    assert len(mail.outbox) == 1


def test_payment_on_day_45_reactivates_and_day_91_does_nothing_R11(
    django_capture_on_commit_callbacks, agent
):
    account = prepaid_account()
    reach_zero_and_suspend(account, django_capture_on_commit_callbacks)
    day_45 = ZERO_DAY + timedelta(days=45)

    payment_record(
        account=account,
        amount="540.00",
        currency="USD",
        by=agent,
        now=at(day_45, 14),
        reference="wire 2027-0301",
    )

    account.refresh_from_db()
    profile = account.billing_profile
    assert account.status == AccountStatus.ACTIVE
    assert profile.unpaid_since is None and profile.suspended_at is None
    assert profile.prepaid_balance == Decimal("540.00")
    assert profile.next_billing_date == add_months(day_45, 1, day_45.day)

    assert cancel_unpaid(at(ZERO_DAY + timedelta(days=91), 0, 10)) == {}
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE
    assert entries(account, EntryKind.PAYMENT).get().amount == Decimal("540.00")


def test_prepaid_at_zero_with_card_renews_once_even_when_run_twice_R11(
    django_capture_on_commit_callbacks,
):
    account = prepaid_account(card_token="tok_visa")
    consume_eleven_months(account)

    run_billing(at(ZERO_DAY))
    assert run_billing(at(ZERO_DAY)) == {}
    run_billing(at(ZERO_DAY, 5))
    with django_capture_on_commit_callbacks(execute=True):
        suspend_unpaid(at(ZERO_DAY, 0, 50))

    renewals = entries(account, EntryKind.PREPAYMENT_PURCHASE)
    assert [r.amount for r in renewals] == [Decimal("540.00")]
    assert entries(account, EntryKind.CARD_PAYMENT).get().amount == Decimal("540.00")
    assert CardChargeAttempt.objects.filter(account=account, outcome="succeeded").count() == 1
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE
    assert account.billing_profile.prepaid_balance == Decimal("540.00")
    assert account.billing_profile.next_billing_date == date(2027, 2, 15)
    assert mail.outbox == []
    # no refund of anything at the renewal
    assert not entries(account, EntryKind.REFUND).exists()


def test_declined_card_is_retried_then_suspends_R11(django_capture_on_commit_callbacks):
    account = prepaid_account(card_token="tok_decline")
    consume_eleven_months(account)

    run_billing(at(ZERO_DAY))
    # CARD_RETRY_DAYS = 1, 3, 5: retried, and not suspended while retries remain
    for offset in (1, 2, 3, 4):
        run_billing(at(ZERO_DAY + timedelta(days=offset)))
        with django_capture_on_commit_callbacks(execute=True):
            suspend_unpaid(at(ZERO_DAY + timedelta(days=offset), 0, 50))
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE
    attempts = CardChargeAttempt.objects.filter(account=account)
    assert list(attempts.values_list("outcome", flat=True)) == ["declined"] * 3

    run_billing(at(ZERO_DAY + timedelta(days=5)))
    with django_capture_on_commit_callbacks(execute=True):
        suspend_unpaid(at(ZERO_DAY + timedelta(days=5), 0, 50))

    account.refresh_from_db()
    assert account.status == AccountStatus.SUSPENDED
    assert attempts.count() == 4
    assert "declined" in account.billing_profile.unpaid_reason
    assert not entries(account, EntryKind.PREPAYMENT_PURCHASE).exists()
    assert len(mail.outbox) == 1
    assert cancel_unpaid(at(ZERO_DAY + timedelta(days=5 + 91), 0, 10)) == {"cancelled": 1}


def test_expired_card_counts_as_no_card_R11(django_capture_on_commit_callbacks):
    account = prepaid_account(card_token="tok_visa")
    account.card.exp_month, account.card.exp_year = 12, 2026
    account.card.save()
    consume_eleven_months(account)

    run_billing(at(ZERO_DAY))

    profile = account.billing_profile
    profile.refresh_from_db()
    assert profile.unpaid_since is not None
    assert "expired" in profile.unpaid_reason
    assert not CardChargeAttempt.objects.filter(account=account).exists()


def test_cancelled_by_system_forfeits_nothing_more_and_keeps_ledger_R5_R11(
    django_capture_on_commit_callbacks,
):
    account = prepaid_account()
    reach_zero_and_suspend(account, django_capture_on_commit_callbacks)
    cancel_unpaid(at(ZERO_DAY + timedelta(days=91), 0, 10))

    # the balance was zero: nothing to forfeit, nothing refunded
    assert not entries(account, EntryKind.FORFEITURE).exists()
    assert not entries(account, EntryKind.REFUND).exists()
    assert entries(account, EntryKind.PREPAID_CONSUMPTION).count() == 12


def test_suspension_notice_is_sent_once_even_when_two_runs_overlap_R11(
    django_capture_on_commit_callbacks,
):
    account = prepaid_account()
    consume_eleven_months(account)
    run_billing(at(ZERO_DAY))

    with django_capture_on_commit_callbacks(execute=True):
        first = suspend_unpaid(at(ZERO_DAY, 0, 50))
        second = suspend_unpaid(at(ZERO_DAY, 0, 51))

    assert first == {"suspended": 1, "notices": 1}
    assert second == {}
    assert len(mail.outbox) == 1
    assert AccountEvent.objects.filter(account=account, kind="suspension_notice").count() == 1


def test_a_notice_the_mail_server_refused_is_not_recorded_sent_and_goes_with_the_next_run_R11(
    smtp, django_capture_on_commit_callbacks
):
    # given an account whose prepaid balance reached zero without a card
    account = prepaid_account()
    consume_eleven_months(account)
    run_billing(at(ZERO_DAY))

    # when it is suspended while the mail server refuses the notice
    with smtp(refuse_first=1) as server:
        with django_capture_on_commit_callbacks(execute=True):
            first = suspend_unpaid(at(ZERO_DAY, 0, 50))
        account.refresh_from_db()
        profile = account.billing_profile
        profile.refresh_from_db()

        # then the suspension stands, but the notice is not recorded as sent
        assert account.status == AccountStatus.SUSPENDED
        assert (first["suspended"], first.get("notices", 0)) == (1, 0)
        assert profile.suspended_at is not None and profile.notice_sent_at is None
        assert not AccountEvent.objects.filter(account=account, kind="suspension_notice").exists()

        # and the next run sends it, once, with its timeline event
        with django_capture_on_commit_callbacks(execute=True):
            second = suspend_unpaid(at(ZERO_DAY, 1, 50))
            third = suspend_unpaid(at(ZERO_DAY, 2, 50))

    assert (second, third) == ({"notices": 1}, {})
    assert [m["To"] for m in server.handler.messages] == ["owner@lakeside.example"]
    assert AccountEvent.objects.filter(account=account, kind="suspension_notice").count() == 1
    assert AccountEvent.objects.filter(account=account, to_status="suspended").count() == 1
    profile.refresh_from_db()
    assert profile.notice_sent_at == at(ZERO_DAY, 1, 50)


def test_dry_runs_change_nothing_R11():
    account = prepaid_account()
    consume_eleven_months(account)

    assert job("run_billing")(as_of=at(ZERO_DAY), dry_run=True) == {"would_bill_prepaid": 1}
    assert entries(account, EntryKind.PREPAID_CONSUMPTION).count() == 11
    run_billing(at(ZERO_DAY))
    assert job("suspend_unpaid")(as_of=at(ZERO_DAY, 1), dry_run=True) == {"would_suspend": 1}
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE
