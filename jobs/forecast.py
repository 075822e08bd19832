"""The scheduled jobs as the forecast runs them (workflows.forecast): each registered job that
walks due items and has an enabled beat schedule, narrowed to one account, run by the same
path as a batch of a real run (jobs.registry.run_function)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from celery.schedules import crontab_parser
from django.core.exceptions import EmptyResultSet
from django.db import connection

from accounts.models import Account, AccountStatus, CancellationReason
from accounts.selectors import retention_days
from core.actors import Actor
from jobs.registry import JOBS, Job, due_items, run_function
from workflows.cancellation import account_cancel
from workflows.desk import cancellation_call_take
from workflows.forecast import (
    DEFAULT_DAYS,
    CancellationOutlook,
    Forecast,
    ForecastJob,
    Schedule,
    account_forecast_simulate,
    cancellation_outlook,
)


def _schedule(crontab) -> Schedule:
    minutes = crontab_parser(60).parse(crontab.minute)
    hours = crontab_parser(24).parse(crontab.hour)
    weekdays = crontab_parser(7).parse(crontab.day_of_week)
    days = crontab_parser(31, 1).parse(crontab.day_of_month)
    months = crontab_parser(12, 1).parse(crontab.month_of_year)
    runs_on: Callable[[date], bool] | None = None
    if len(weekdays) < 7 or len(days) < 31 or len(months) < 12:

        def runs_on(day: date) -> bool:
            # Celery counts weekdays from Sunday (0).
            return day.isoweekday() % 7 in weekdays and day.day in days and day.month in months

    try:
        zone = ZoneInfo(str(crontab.timezone))
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    moments = tuple(sorted((h, m) for h in hours for m in minutes))
    return Schedule(moments=moments, zone=zone, runs_on=runs_on)


def beat_schedules() -> dict[str, Schedule]:
    """The enabled crontab schedule of each job, as staff left them in the admin."""
    from django_celery_beat.models import PeriodicTask

    schedules = {}
    tasks = PeriodicTask.objects.filter(
        task="jobs.run_job", enabled=True, crontab__isnull=False
    ).select_related("crontab")
    for task in tasks:
        name = json.loads(task.kwargs or "{}").get("name", task.name)
        schedules[name] = _schedule(task.crontab)
    return schedules


# Three moments far from any real one: the due selection is compiled at each to see how its
# SQL depends on the moment (see _compiled_once).
_SAMPLES = (
    datetime(2001, 1, 1, tzinfo=UTC),
    datetime(2003, 7, 9, 5, 6, 7, tzinfo=UTC),
    datetime(2011, 11, 30, 23, 59, tzinfo=UTC),
)

DueQuery = Callable[[datetime], tuple[str, Sequence]]


def _compiled_once(build: DueQuery) -> DueQuery:
    """`build` with its SQL compiled once, when the selection depends on the moment only
    through parameters that are the moment moved by a fixed time (as_of, as_of - 89 days):
    those are computed for each moment, the others kept. A forecast asks hundreds of moments,
    and compiling a queryset costs more than running this one. Otherwise `build` itself: also
    when building the selection reads the database (its SQL then depends on the data, as the
    purge's does on the zones of the accounts past retention)."""
    reads = []

    def count(execute, sql, params, many, context):
        reads.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        compiled = [build(sample) for sample in _SAMPLES]
    if reads:
        return build
    sql, first = compiled[0]
    plan: list[tuple[bool, object]] = []
    for position, value in enumerate(first):
        others = [params[position] if len(params) > position else None for _, params in compiled]
        if all(other == value for other in others):
            plan.append((False, value))
        elif isinstance(value, datetime):
            plan.append((True, value - _SAMPLES[0]))
        else:
            return build

    def fast(moment: datetime) -> tuple[str, Sequence]:
        return sql, [moment + value if moved else value for moved, value in plan]  # type: ignore[operator]

    for sample, (other_sql, other_params) in zip(_SAMPLES, compiled, strict=True):
        if other_sql != sql or list(fast(sample)[1]) != list(other_params):
            return build
    return fast


def _forecast_job(job: Job, schedule: Schedule, account_id: int) -> ForecastJob:
    def build(moment: datetime) -> tuple[str, Sequence]:
        items = due_items(job, as_of=moment, account_id=account_id)
        try:
            return items.values_list("pk", flat=True)[:1].query.sql_with_params()
        except EmptyResultSet:  # a selection that can hold nothing
            return "SELECT 1 WHERE FALSE", []

    due_query = _compiled_once(build)

    def run(moment: datetime) -> object:
        return run_function(job, as_of=moment, dry_run=False, account_id=account_id)

    return ForecastJob(name=job.name, schedule=schedule, due_query=due_query, run=run)


def forecast_jobs(*, account: Account) -> list[ForecastJob]:
    """The jobs that can act on an account, narrowed to it, in the order of their first
    scheduled minute (two at the same minute: registration order)."""
    schedules = beat_schedules()
    jobs = [
        _forecast_job(job, schedules[name], account.pk)
        for name, job in JOBS.items()
        if job.due is not None and name in schedules
    ]
    return sorted(jobs, key=lambda j: j.schedule.moments[:1])


def account_forecast(
    *,
    account: Account,
    as_of: datetime,
    days: int = DEFAULT_DAYS,
    before: Callable[[Account, datetime], object] | None = None,
) -> Forecast:
    """The forecast of `account` from `as_of` over `days` days (workflows.forecast)."""
    return account_forecast_simulate(
        account=account,
        as_of=as_of,
        days=days,
        jobs=forecast_jobs(account=account),
        before=before,
    )


def account_forecast_if_cancelled(
    *, account: Account, as_of: datetime, by: Actor, days: int = DEFAULT_DAYS
) -> tuple[Forecast, Forecast, CancellationOutlook]:
    """The forecast of the account as it is, and as it would be after the cancellation call
    taken now (the desk's own workflow, run inside the simulation and rolled back with it):
    the second covers the retention window too, so the purge day shows. A trial's call closes
    the trial (R1)."""
    reason = CancellationReason.objects.filter(active=True, system=False).order_by("pk").first()

    def cancel(simulated: Account, now: datetime) -> object:
        if reason is None:  # no reason list yet: the cancellation workflow itself
            return account_cancel(
                account=simulated, by=by, now=now, reason=_FORECAST_REASON, voluntary=True
            )
        is_trial = simulated.status == AccountStatus.TRIAL
        return cancellation_call_take(
            account=simulated,
            by=by,
            now=now,
            username_typed=simulated.username,
            reason=reason,
            callers_words=_FORECAST_REASON,
            pause_accepted=None if is_trial else False,
            close_trial=is_trial,
        )

    as_is = account_forecast(account=account, as_of=as_of, days=days)
    longer = max(days, retention_days() + 2)
    cancelled = account_forecast(account=account, as_of=as_of, days=longer, before=cancel)
    return as_is, cancelled, cancellation_outlook(as_is=as_is, cancelled=cancelled)


# The words the simulated call records (never kept: the simulation is rolled back).
_FORECAST_REASON = "If cancelled now (forecast)"
