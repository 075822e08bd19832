"""The business gauges at /metrics: the promises the provider makes (SPEC R4, R7, R11, the
scheduled jobs), each computed by the selector the dashboard or the admin list uses, so an
alert and the page staff open agree.

Every gauge is an aggregate over an index (measured at a million accounts in bench/README.md,
"Metrics scrape"), cheap enough for a scrape every 15 seconds. A gauge yields every label
value it knows (every state, every job) even at zero, so alert rules see a series from the
start. One module on purpose: the selectors it calls are the only coupling to the apps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from accounts.models import AccountStatus
from accounts.selectors import (
    accounts_count_by_state,
    accounts_due_for_purge,
    confirmations_overdue,
    confirmations_pending,
)
from billing.selectors import UNPAID_DAY_BANDS, suspended_unpaid_count_by_band
from compliance.selectors import suppression_imports_running
from jobs.registry import JOBS
from jobs.selectors import (
    batches_failed_by_job,
    batches_unfinished_by_job,
    jobs_last_succeeded,
    jobs_late,
)
from ops.selectors import heartbeat_at
from ops.services import BEAT

Gauge = Callable[..., Iterator[Metric]]


def accounts_by_state(*, now: datetime) -> Iterator[Metric]:
    counts = accounts_count_by_state()
    family = GaugeMetricFamily(
        "backoffice_accounts", "Accounts by lifecycle state", labels=["state"]
    )
    for value, _label in AccountStatus.choices:
        family.add_metric([value], counts.get(value, 0))
    yield family


def confirmations(*, now: datetime) -> Iterator[Metric]:
    """R4: cancellation confirmations unsent within the 24 hours, and unsent past them."""
    yield GaugeMetricFamily(
        "backoffice_confirmations_pending",
        "Cancellation confirmations not yet sent, still within the 24-hour promise (R4)",
        value=confirmations_pending(as_of=now).count(),
    )
    yield GaugeMetricFamily(
        "backoffice_confirmations_overdue",
        "Cancellation confirmations still unsent after 24 hours: R4 breaches",
        value=confirmations_overdue(as_of=now).count(),
    )


def purge(*, now: datetime) -> Iterator[Metric]:
    """R7: accounts in or past their purge day on their own calendar, without a legal hold."""
    yield GaugeMetricFamily(
        "backoffice_accounts_due_for_purge",
        "Inactive accounts in or past their purge day (more than 120 days), no legal hold (R7)",
        value=accounts_due_for_purge(as_of=now).count(),
    )


def suspended_unpaid(*, now: datetime) -> Iterator[Metric]:
    """R11: accounts suspended for non-payment, by days since the suspension: every band in
    one count, the suspended accounts' zones read once."""
    family = GaugeMetricFamily(
        "backoffice_accounts_suspended_unpaid",
        "Accounts suspended for non-payment, by days suspended (cancelled after 90, R11)",
        labels=["days"],
    )
    counts = suspended_unpaid_count_by_band(as_of=now)
    for band in UNPAID_DAY_BANDS:
        family.add_metric([band], counts[band])
    yield family


def jobs(*, now: datetime) -> Iterator[Metric]:
    """Each job's last success, whether it is late, and its batches: failed (ever),
    pending, running and abandoned by their worker."""
    names = sorted(JOBS)
    succeeded = jobs_last_succeeded()
    family = GaugeMetricFamily(
        "backoffice_job_last_success_timestamp_seconds",
        "When the job's last successful run finished (Unix time); absent if it never did",
        labels=["job"],
    )
    for name in names:
        if name in succeeded:
            family.add_metric([name], succeeded[name].timestamp())
    yield family

    late = {entry.job for entry in jobs_late(now=now)}
    family = GaugeMetricFamily(
        "backoffice_job_late",
        "1 when the job's schedule passed more than JOB_LATE_AFTER ago with no run since",
        labels=["job"],
    )
    for name in names:
        family.add_metric([name], 1 if name in late else 0)
    yield family

    failed = batches_failed_by_job()
    counter = CounterMetricFamily(
        "backoffice_job_batches_failed",
        "Batches of the job's runs that failed (an error, or given up after repeated deaths)",
        labels=["job"],
    )
    for name in names:
        counter.add_metric([name], failed.get(name, 0))
    yield counter

    unfinished = batches_unfinished_by_job(now=now)
    family = GaugeMetricFamily(
        "backoffice_job_batches_unfinished",
        "Batches not finished: pending, running, or abandoned (running, no heartbeat within "
        "JOB_BATCH_LEASE)",
        labels=["job", "state"],
    )
    for name in names:
        for state in ("pending", "running", "abandoned"):
            family.add_metric([name, state], unfinished.get((name, state), 0))
    yield family


def imports(*, now: datetime) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "backoffice_suppression_imports_running",
        "Unsubscribe-list imports reading their file now (preview or import)",
        value=suppression_imports_running().count(),
    )


def beat(*, now: datetime) -> Iterator[Metric]:
    heard = heartbeat_at(name=BEAT)
    family = GaugeMetricFamily(
        "backoffice_beat_last_heard_timestamp_seconds",
        "When celery beat last said it is alive (Unix time); 0 if never",
    )
    family.add_metric([], heard.timestamp() if heard else 0)
    yield family


GAUGES: list[Gauge] = [
    accounts_by_state,
    confirmations,
    purge,
    suspended_unpaid,
    jobs,
    imports,
    beat,
]
