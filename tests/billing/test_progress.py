"""The billing run reports progress per batch (runjob shows it)."""

import io
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from django.core.management import call_command

from core import progress as progress_module
from jobs.registry import JOBS, get_job
from tests.billing.factories import BillingProfileFactory, CardFactory
from tests.jobrun import job

pytestmark = pytest.mark.django_db

AS_OF = datetime(2026, 12, 2, 12, tzinfo=UTC)


def due_profiles(n: int) -> None:
    for profile in BillingProfileFactory.create_batch(n, next_billing_date=date(2026, 12, 1)):
        CardFactory(account=profile.account)


def test_billing_run_calls_progress_per_batch_R3(monkeypatch):
    due_profiles(5)
    steps: list[int] = []

    monkeypatch.setitem(JOBS, "run_billing", replace(get_job("run_billing"), step=2))

    counts = job("run_billing")(as_of=AS_OF, progress=steps.append)

    assert steps == [2, 2, 1]
    assert sum(counts.values()) >= 5


def test_runjob_run_billing_off_a_terminal_prints_progress_and_done(monkeypatch):
    monkeypatch.setattr(progress_module, "LOG_EVERY_SECONDS", 0)
    due_profiles(3)
    out, err = io.StringIO(), io.StringIO()

    call_command("runjob", "run_billing", "--as-of", AS_OF.isoformat(), stdout=out, stderr=err)

    lines = err.getvalue().splitlines()
    assert lines[0].startswith("run_billing: 3 items (")
    assert lines[-1].startswith("run_billing: 3 items (") and lines[-1].endswith(" done")
