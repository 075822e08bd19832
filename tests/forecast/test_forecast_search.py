"""How the forecast finds a job's next due moment (workflows.forecast): each job's due selection
asked at many moments in one query must answer what the job's own selection (jobs.registry
.due_items) answers at each moment alone, and the search must land on the same moments and
outcomes however many moments a query asks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from accounts.models import AccountStatus
from billing.models import BillingMode
from jobs.forecast import account_forecast, forecast_jobs
from jobs.registry import JOBS, due_items
from tests.billing.factories import BillingProfileFactory, CardFactory
from tests.factories import AccountFactory
from workflows import forecast as simulation
from workflows.forecast import _ask, _split_at_parameters

pytestmark = pytest.mark.django_db

START = datetime(2026, 11, 20, 12, tzinfo=UTC)


def varied_accounts():
    declining = AccountFactory(time_zone="Europe/Berlin")
    BillingProfileFactory(account=declining, next_billing_date=date(2026, 12, 1))
    CardFactory(account=declining, token="tok_decline")
    prepaid = AccountFactory(time_zone="America/New_York")
    BillingProfileFactory(
        account=prepaid,
        mode=BillingMode.PREPAID,
        prepaid_balance=Decimal("45.00"),
        next_billing_date=date(2026, 12, 15),
    )
    trial = AccountFactory(
        time_zone="Australia/Sydney",
        status=AccountStatus.TRIAL,
        trial_ends_at=START + timedelta(days=3),
    )
    cancelled = AccountFactory(
        time_zone="Asia/Tokyo",
        status=AccountStatus.CANCELLED,
        inactive_since=START - timedelta(days=100),
    )
    suspended = AccountFactory(time_zone="America/Los_Angeles", status=AccountStatus.SUSPENDED)
    BillingProfileFactory(
        account=suspended,
        next_billing_date=date(2026, 12, 1),
        unpaid_since=START - timedelta(days=80),
        suspended_at=START - timedelta(days=80),
        notice_sent_at=START - timedelta(days=80),
    )
    return [declining, prepaid, trial, cancelled, suspended]


def test_many_moments_in_one_query_answer_as_each_job_selection_does_alone():
    moments = [START + timedelta(hours=7 * n, minutes=5) for n in range(500)]
    became_due = set()
    for account in varied_accounts():
        for job in forecast_jobs(account=account):
            alone = next(
                (
                    n
                    for n, moment in enumerate(moments)
                    if due_items(JOBS[job.name], as_of=moment, account_id=account.pk).exists()
                ),
                None,
            )
            assert _ask([(job, moments)]) == [alone], (account.username, job.name)
            if alone:
                became_due.add(job.name)
    # The accounts make the selections turn due in the window, not only stay as they are.
    assert {"run_billing", "expire_trials", "purge_inactive", "cancel_unpaid"} <= became_due


def test_the_forecast_is_the_same_however_many_moments_a_query_asks(monkeypatch):
    """R11's day 91 included: the suspended account is cancelled in the window."""
    accounts = varied_accounts()
    wide = [account_forecast(account=a, as_of=START, days=120).entries for a in accounts]
    monkeypatch.setattr(simulation, "SPREAD", 4)
    monkeypatch.setattr(simulation, "SPREAD_EACH", 4)
    monkeypatch.setattr(simulation, "SPREAD_BUILT", 1)
    # cancel_unpaid's hour (day 91 of the suspended account) looked for three hours at a time.
    monkeypatch.setattr(simulation, "SEARCH_AHEAD", 3)
    narrow = [account_forecast(account=a, as_of=START, days=120).entries for a in accounts]
    assert [[e.key for e in entries] for entries in narrow] == [
        [e.key for e in entries] for entries in wide
    ]
    assert all(wide[:4]), "each of the first four accounts has something forecast"
    assert "cancelled_involuntary" in {e.kind for e in wide[4]}


def test_sql_is_cut_at_its_parameter_placeholders_only():
    assert _split_at_parameters("a = %s AND b LIKE '%%x' AND c = %s") == [
        "a = ",
        " AND b LIKE '%%x' AND c = ",
        "",
    ]
    assert _split_at_parameters("a = %(name)s") is None
