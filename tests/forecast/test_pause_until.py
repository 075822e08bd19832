"""Pause until a date (issue 14 item 4, R8): the account resumes by itself on that local date
(the resume_paused job) with its event and a notice, the pause fee stops with it, and the
guardrails from settings (longest pause; one pause per billing period unless a Billing clerk
allows a second) refuse clearly and change nothing."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import AccountEvent, AccountStatus
from accounts.services import DeskError
from billing.models import EntryKind, LedgerEntry
from core.actors import Actor
from jobs.forecast import account_forecast
from tests.billing.factories import BillingProfileFactory, CardFactory
from tests.factories import AccountFactory
from tests.jobrun import job
from workflows.desk import account_agent_action

pytestmark = pytest.mark.django_db
ZONE = ZoneInfo("Asia/Kolkata")  # UTC+5:30: local midnight falls on a half hour
NOW = datetime(2026, 11, 20, 9, tzinfo=UTC)


@pytest.fixture
def support(make_role_user) -> Actor:
    return Actor.staff(make_role_user("Support", "support.sam"))


@pytest.fixture
def clerk(make_role_user) -> Actor:
    return Actor.staff(make_role_user("Billing", "billing.bea"))


def card_account():
    account = AccountFactory(time_zone="Asia/Kolkata", primary_email="owner@kolkata.example")
    BillingProfileFactory(account=account, next_billing_date=date(2026, 12, 1))
    CardFactory(account=account, token="tok_visa")
    return account


def pause(account, by, *, until=None, now=NOW):
    return account_agent_action(
        account=account,
        action="pause",
        by=by,
        now=now,
        username_typed=account.username,
        reason="Summer break",
        until=until,
    )


def local(day: date, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE)


def test_a_pause_until_a_date_ends_by_itself_that_local_day_with_event_and_notice_R8(support):
    account = card_account()
    pause(account, support, until=date(2026, 12, 15))
    account.refresh_from_db()
    assert account.paused_until == date(2026, 12, 15)

    # The last minute of the 14th, local time: still paused.
    assert job("resume_paused")(as_of=local(date(2026, 12, 14), 23, 59)) == {
        "resumed": 0,
        "notice_failed": 0,
        "skipped": 0,
    }
    job("resume_paused")(as_of=local(date(2026, 12, 15)))

    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE
    assert account.paused_until is None
    kinds = list(
        AccountEvent.objects.filter(account=account)
        .order_by("at", "pk")
        .values_list("kind", flat=True)
    )
    assert kinds[-2:] == ["resume", "resume_notice"]
    assert [m.to for m in mail.outbox] == [["owner@kolkata.example"]]
    assert "active again" in mail.outbox[0].subject


def test_the_pause_fee_stops_with_the_pause_R8(support):
    account = card_account()
    pause(account, support, until=date(2026, 12, 15))
    run_billing = job("run_billing")
    run_billing(as_of=local(date(2026, 12, 1), 0, 5))
    job("resume_paused")(as_of=local(date(2026, 12, 15)))
    run_billing(as_of=local(date(2027, 1, 1), 0, 5))
    billed = list(
        LedgerEntry.objects.filter(
            account=account, kind__in=[EntryKind.PAUSE_FEE, EntryKind.CHARGE]
        )
        .order_by("period")
        .values_list("period", "kind")
    )
    assert billed == [(date(2026, 12, 1), "pause_fee"), (date(2027, 1, 1), "charge")]


def test_the_forecast_shows_the_resume_and_the_plan_charged_again_R8(support):
    account = card_account()
    pause(account, support, until=date(2026, 12, 15))
    forecast = account_forecast(account=account, as_of=NOW, days=60)
    days = [(e.day, e.kind) for e in forecast.entries]
    assert (date(2026, 12, 1), "pause_fee") in days
    assert (date(2026, 12, 15), "resume") in days
    assert (date(2026, 12, 15), "resume_notice") in days
    assert (date(2027, 1, 1), "charge") in days


@pytest.mark.parametrize(
    ("until", "message"),
    [
        (date(2026, 11, 20), "a pause ends after today (2026-11-20 in Asia/Kolkata)"),
        (date(2027, 2, 21), "a pause lasts at most 92 days: until 2027-02-20 at the latest"),
    ],
)
def test_an_end_date_outside_the_guardrails_is_refused_and_nothing_changes(support, until, message):
    account = card_account()
    with pytest.raises(DeskError, match=re.escape(message)):
        pause(account, support, until=until)
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE
    assert not AccountEvent.objects.filter(account=account).exists()


def test_the_longest_pause_comes_from_settings(support, settings):
    settings.PAUSE_LONGEST_DAYS = 10
    account = card_account()
    with pytest.raises(DeskError, match="at most 10 days: until 2026-11-30"):
        pause(account, support, until=date(2026, 12, 1))


def resumed(account, by, now):
    return account_agent_action(
        account=account,
        action="resume",
        by=by,
        now=now,
        username_typed=account.username,
        reason="Back",
    )


def allow(account, by, now):
    return account_agent_action(
        account=account,
        action="allow_pause",
        by=by,
        now=now,
        username_typed=account.username,
        reason="Customer's shop flooded",
    )


def test_a_second_pause_within_one_billing_period_needs_a_billing_clerk_R8(support, clerk):
    account = card_account()
    pause(account, support)  # indefinitely, as before
    resumed(account, support, NOW + timedelta(days=3))
    later = NOW + timedelta(days=10)
    with pytest.raises(DeskError, match="paused already on 2026-11-20, within one billing"):
        pause(account, support, now=later)
    # An agent cannot allow it; a Billing clerk can (and cannot pause: that is the agent's).
    with pytest.raises(DeskError, match="may not allow a second pause"):
        allow(account, support, later)
    with pytest.raises(DeskError, match="may not pause accounts"):
        pause(account, clerk, now=later)
    allow(account, clerk, later)
    pause(account, support, now=later + timedelta(minutes=5), until=date(2026, 12, 20))
    account.refresh_from_db()
    assert account.status == AccountStatus.PAUSED
    assert AccountEvent.objects.filter(account=account, kind="repeat_pause_allowed").count() == 1
    # The allowance was used by that pause: a third one within the period needs another.
    resumed(account, support, NOW + timedelta(days=12))
    with pytest.raises(DeskError, match="within one billing period"):
        pause(account, support, now=NOW + timedelta(days=13))
    # A month after the last pause, a pause needs nobody's permission again.
    pause(account, support, now=NOW + timedelta(days=45))


def test_the_pause_form_takes_an_end_date(client, make_role_user):
    client.force_login(make_role_user("Support", "support.sue"))
    account = card_account()
    url = reverse("admin:accounts_account_agent_action", args=[account.pk, "pause"])
    assert "Paused until" in client.get(url).content.decode()
    client.post(url, {"username": account.username, "reason": "Break", "until": "2099-01-01"})
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE  # beyond the longest pause: refused
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date()
    client.post(url, {"username": account.username, "reason": "Break", "until": tomorrow})
    account.refresh_from_db()
    assert account.status == AccountStatus.PAUSED
    assert account.paused_until == tomorrow
