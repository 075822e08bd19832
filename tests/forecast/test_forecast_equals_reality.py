"""Forecast equals reality (issue 14 item 3).

A varied set of accounts is forecast at day 0; then every scheduled job runs by its own run
path (jobs.services.job_run, what `manage.py runjob` calls) hour by hour over the window, at
each job's scheduled minute of the hour, whenever it has items due; what the runs record for
each account (timeline events, ledger entries, card charges that failed) must be what the
forecast said: the same kinds of entry on the same local days with the same amounts. A
difference names the account, the day and both sides.

On PostgreSQL (the billing run writes through COPY and locks with SKIP LOCKED).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from accounts.models import Account, AccountStatus
from billing.models import BillingMode
from core.actors import Actor
from core.localtime import local_midnight
from jobs.forecast import account_forecast, beat_schedules
from jobs.models import JobRun
from jobs.registry import JOBS, due_items
from jobs.services import job_run
from tests.billing.factories import BillingProfileFactory, CardFactory
from tests.factories import AccountFactory
from workflows.cancellation import account_cancel
from workflows.forecast import ForecastEntry, records_mark, records_since
from workflows.reactivation import account_reactivate

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

START = datetime(2026, 11, 20, 12, tzinfo=UTC)
# Long enough for a cancellation at day 0 to reach its purge on day 121 (R7).
DAYS = 125
AGENT = Actor.system("test_setup")


def monthly(zone: str, token: str | None, *, billing: date, **account) -> Account:
    a = AccountFactory(time_zone=zone, **account)
    BillingProfileFactory(account=a, next_billing_date=billing)
    if token:
        CardFactory(account=a, token=token)
    return a


def prepaid(zone: str, token: str | None, *, balance: str, billing: date) -> Account:
    a = AccountFactory(time_zone=zone)
    BillingProfileFactory(
        account=a,
        mode=BillingMode.PREPAID,
        prepaid_months=12,
        prepaid_balance=Decimal(balance),
        next_billing_date=billing,
    )
    if token:
        CardFactory(account=a, token=token)
    return a


def build_accounts() -> dict[str, Account]:
    accounts = {
        # R3, R11: the first try of each period declines, the retry a day later succeeds.
        "monthly card declining once": monthly(
            "Europe/Berlin", "tok_decline_first", billing=date(2026, 12, 1)
        ),
        # R11: two months left, no card: suspended the day it reaches zero.
        "prepaid without card": prepaid(
            "America/New_York", None, balance="90.00", billing=date(2026, 12, 15)
        ),
        # R11: one month left, a card: the term renews by card.
        "prepaid with card": prepaid(
            "Asia/Tokyo", "tok_visa", balance="45.00", billing=date(2026, 12, 10)
        ),
        # R8: the pause fee each month.
        "paused": monthly(
            "Europe/London", "tok_visa", billing=date(2026, 12, 5), status=AccountStatus.PAUSED
        ),
        # R1, R7: the trial ends, and its data is purged on day 121.
        "trial": AccountFactory(
            time_zone="Australia/Sydney",
            status=AccountStatus.TRIAL,
            trial_ends_at=local_midnight(date(2026, 11, 22), ZoneInfo("Australia/Sydney")),
        ),
        # R3, R4, R7: cancelled this morning: confirmed, 1 December never charged, purged.
        "just cancelled": monthly("America/Los_Angeles", "tok_visa", billing=date(2026, 12, 1)),
        # R7: past retention, but held: never purged.
        "cancelled with legal hold": AccountFactory(
            status=AccountStatus.CANCELLED,
            inactive_since=START - timedelta(days=100),
            legal_hold=True,
            legal_hold_reason="Litigation 2026-17",
        ),
        # R7: cancelled ten days ago, reactivated an hour ago: billed again.
        "reactivated": monthly("Europe/Paris", "tok_mastercard", billing=date(2026, 12, 3)),
    }
    account_cancel(
        account=accounts["just cancelled"],
        by=AGENT,
        now=START - timedelta(hours=1),
        reason="Moving to another provider",
        voluntary=True,
    )
    reactivated = accounts["reactivated"]
    account_cancel(
        account=reactivated,
        by=AGENT,
        now=START - timedelta(days=10),
        reason="Too dear",
        voluntary=True,
    )
    # Its confirmation went out then (R4).
    job_run(
        name="send_confirmations",
        as_of=START - timedelta(days=10) + timedelta(minutes=5),
        dry_run=False,
        trigger=JobRun.Trigger.COMMAND,
    )
    account_reactivate(
        account=reactivated, by=AGENT, now=START - timedelta(hours=1), reason="Came back"
    )
    return accounts


def run_every_job_hour_by_hour(*, start: datetime, end: datetime) -> None:
    """Every scheduled job, hour by hour from `start` to `end`, at its first scheduled minute
    of each hour it is scheduled in, by the path `manage.py runjob` takes, when it has items
    due (an hour with nothing due is one that runjob would report as nothing to do)."""
    schedules = beat_schedules()
    jobs = [(name, schedules[name]) for name, job in JOBS.items() if name in schedules and job.due]
    hour = start.replace(minute=0, second=0, microsecond=0)
    while hour <= end:
        moments = []
        for name, schedule in jobs:
            minutes = [m for h, m in schedule.moments if h == hour.hour]
            if minutes and (schedule.runs_on is None or schedule.runs_on(hour.date())):
                moments.append((hour + timedelta(minutes=min(minutes)), name))
        for moment, name in sorted(moments):
            if start < moment <= end and due_items(JOBS[name], as_of=moment).exists():
                job_run(name=name, as_of=moment, dry_run=False, trigger=JobRun.Trigger.COMMAND)
        hour += timedelta(hours=1)


def by_day(entries: list[ForecastEntry]) -> dict[date, Counter]:
    days: dict[date, Counter] = defaultdict(Counter)
    for entry in entries:
        amount = f" {entry.amount} {entry.currency}" if entry.amount is not None else ""
        days[entry.day][f"{entry.source}:{entry.kind}{amount}"] += 1
    return days


def differences(name: str, account: Account, forecast, reality) -> list[str]:
    expected, recorded = by_day(forecast), by_day(reality)
    lines = []
    for day in sorted(set(expected) | set(recorded)):
        if expected.get(day) != recorded.get(day):
            lines.append(
                f"{name} ({account.username}, {account.time_zone}) on {day}: forecast "
                f"{sorted(expected.get(day, Counter()).elements())} but the jobs recorded "
                f"{sorted(recorded.get(day, Counter()).elements())}"
            )
    return lines


def test_forecast_at_day_0_equals_what_the_jobs_record_over_the_window():
    assert connection.vendor == "postgresql"
    accounts = build_accounts()
    forecasts = {
        name: account_forecast(account=a, as_of=START, days=DAYS) for name, a in accounts.items()
    }
    marks = {name: records_mark(a) for name, a in accounts.items()}

    run_every_job_hour_by_hour(start=START, end=START + timedelta(days=DAYS))

    report = []
    for name, account in accounts.items():
        reality = records_since(account, after=marks[name])
        report += differences(name, account, forecasts[name].entries, reality)
    assert not report, "\n".join(report)
    # The set is varied: each account's forecast says something, and what the rules say.
    kinds = {name: {e.kind for e in f.entries} for name, f in forecasts.items()}
    assert {"declined", "charge"} <= kinds["monthly card declining once"]
    assert {"suspend", "suspension_notice"} <= kinds["prepaid without card"]
    assert "prepayment_purchase" in kinds["prepaid with card"]
    assert "pause_fee" in kinds["paused"]
    assert {"expire_trial"} <= kinds["trial"]
    assert {"confirmation_sent", "purge"} <= kinds["just cancelled"]
    assert "charge" not in kinds["just cancelled"]  # R3: 1 December is never charged
    assert kinds["cancelled with legal hold"] == set()
    assert forecasts["cancelled with legal hold"].notes
    assert "charge" in kinds["reactivated"]
