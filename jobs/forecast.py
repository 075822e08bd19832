"""The scheduled jobs as the forecast runs them (workflows.forecast): each registered job that
walks due items and has an enabled beat schedule, narrowed to one account, run by the same
path as a batch of a real run (jobs.registry.run_function)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from celery.schedules import crontab_parser
from django.core.exceptions import EmptyResultSet
from django.core.signals import setting_changed
from django.db import connection
from django.dispatch import receiver

from accounts.models import Account, AccountStatus, CancellationReason
from accounts.selectors import retention_days
from core.actors import Actor
from jobs.registry import JOBS, Job, due_items, run_function
from workflows.cancellation import account_cancel
from workflows.desk import cancellation_call_take
from workflows.forecast import (
    DEFAULT_DAYS,
    CancellationOutlook,
    DueSQL,
    Forecast,
    ForecastJob,
    Schedule,
    account_forecast_simulate,
    cancellation_outlook,
)


def _schedule(crontab) -> Schedule:
    return _parsed(
        crontab.minute,
        crontab.hour,
        crontab.day_of_week,
        crontab.day_of_month,
        crontab.month_of_year,
        str(crontab.timezone),
    )


# A forecast reads the schedules each time (staff edit them in the admin); parsing one costs
# more than reading them all, and a crontab's fields say all there is to it.
@functools.lru_cache(maxsize=256)
def _parsed(
    minute: str, hour: str, day_of_week: str, day_of_month: str, month_of_year: str, zone: str
) -> Schedule:
    minutes = crontab_parser(60).parse(minute)
    hours = crontab_parser(24).parse(hour)
    weekdays = crontab_parser(7).parse(day_of_week)
    days = crontab_parser(31, 1).parse(day_of_month)
    months = crontab_parser(12, 1).parse(month_of_year)
    runs_on: Callable[[date], bool] | None = None
    if len(weekdays) < 7 or len(days) < 31 or len(months) < 12:

        def runs_on(day: date) -> bool:
            # Celery counts weekdays from Sunday (0).
            return day.isoweekday() % 7 in weekdays and day.day in days and day.month in months

    try:
        timezone = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        timezone = ZoneInfo("UTC")
    moments = tuple(sorted((h, m) for h in hours for m in minutes))
    return Schedule(moments=moments, zone=timezone, runs_on=runs_on)


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


# Three moments far from any real one, and three account ids no real account has: the due
# selection is compiled at each to see how its SQL depends on the moment and the account (see
# _due_template).
_SAMPLES = (
    (datetime(2001, 1, 1, tzinfo=UTC), 1_999_999_901),
    (datetime(2003, 7, 9, 5, 6, 7, tzinfo=UTC), 1_999_999_913),
    (datetime(2011, 11, 30, 23, 59, tzinfo=UTC), 1_999_999_927),
)
_ACCOUNT = "account"


def _due_sql(job: Job, moment: datetime, account_id: int) -> tuple[str, Sequence]:
    """The SQL of the job's due items of one account as of `moment` (a row when any)."""
    items = due_items(job, as_of=moment, account_id=account_id)
    try:
        return items.values_list("pk", flat=True)[:1].query.sql_with_params()
    except EmptyResultSet:  # a selection that can hold nothing
        return "SELECT 1 WHERE FALSE", []


@dataclass(frozen=True)
class _Template:
    sql: str
    # Per parameter: ("fixed", value), ("moved", time), or ("account", None).
    plan: tuple[tuple[str, object], ...]

    def params(self, moment: datetime, account_id: int) -> list:
        values = []
        for how, value in self.plan:
            if how == "moved":
                values.append(moment + value)  # type: ignore[operator]
            else:
                values.append(account_id if how == _ACCOUNT else value)
        return values


# The templates of the jobs' due selections, made once per process: a forecast asks hundreds
# of moments, and compiling a queryset costs more than running this one. Settings shape them
# (UNPAID_CANCEL_AFTER_DAYS, RETENTION_DAYS): a changed setting drops them.
_TEMPLATES: dict[tuple[str, Callable], _Template | None] = {}


@receiver(setting_changed)
def _forget_templates(**kwargs) -> None:
    _TEMPLATES.clear()


def _due_template(job: Job) -> _Template | None:
    """The job's due selection for one account as SQL made once, when it depends on the
    moment only through parameters that are the moment moved by a fixed time (as_of, as_of -
    89 days) and on the account only through its id; None otherwise, also when building the
    selection reads the database (its SQL then depends on the data, as the purge's does on the
    account's zone) or when the selection is empty at a sample."""
    key = (job.name, job.due)
    if key in _TEMPLATES:
        return _TEMPLATES[key]
    _TEMPLATES[key] = template = _make_template(job)
    return template


def _make_template(job: Job) -> _Template | None:
    reads = []

    def count(execute, sql, params, many, context):
        reads.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        compiled = [_due_sql(job, moment, account) for moment, account in _SAMPLES]
    if reads:
        return None
    sql, first = compiled[0]
    if sql == "SELECT 1 WHERE FALSE":
        return None
    plan: list[tuple[str, object]] = []
    for position, value in enumerate(first):
        others = [params[position] if len(params) > position else None for _, params in compiled]
        if all(other == value for other in others):
            plan.append(("fixed", value))
        elif all(other == account for other, (_, account) in zip(others, _SAMPLES, strict=True)):
            plan.append((_ACCOUNT, None))
        elif isinstance(value, datetime):
            plan.append(("moved", value - _SAMPLES[0][0]))
        else:
            return None
    template = _Template(sql=sql, plan=tuple(plan))
    for (moment, account), (other_sql, other_params) in zip(_SAMPLES, compiled, strict=True):
        if other_sql != sql or template.params(moment, account) != list(other_params):
            return None
    return template


def _forecast_job(job: Job, schedule: Schedule, account_id: int) -> ForecastJob:
    template = _due_template(job)
    due_sql = None
    if template is not None:
        due_sql = DueSQL(
            sql=template.sql,
            params=tuple(
                account_id if how == _ACCOUNT else (None if how == "moved" else value)
                for how, value in template.plan
            ),
            moved=tuple(value if how == "moved" else None for how, value in template.plan),  # type: ignore[misc]
        )

    def due_query(moment: datetime) -> tuple[str, Sequence]:
        if due_sql is not None:
            return due_sql.at(moment)
        return _due_sql(job, moment, account_id)

    def run(moment: datetime) -> object:
        return run_function(job, as_of=moment, dry_run=False, account_id=account_id)

    def preview(moment: datetime) -> object:
        return run_function(job, as_of=moment, dry_run=True, account_id=account_id)

    return ForecastJob(
        name=job.name,
        schedule=schedule,
        due_query=due_query,
        run=run,
        due_sql=due_sql,
        preview=preview,
        coarse_due=job.coarse_due,
    )


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

    jobs = forecast_jobs(account=account)
    as_is = account_forecast_simulate(account=account, as_of=as_of, days=days, jobs=jobs)
    longer = max(days, retention_days() + 2)
    cancelled = account_forecast_simulate(
        account=account, as_of=as_of, days=longer, jobs=jobs, before=cancel
    )
    return as_is, cancelled, cancellation_outlook(as_is=as_is, cancelled=cancelled)


# The words the simulated call records (never kept: the simulation is rolled back).
_FORECAST_REASON = "If cancelled now (forecast)"
