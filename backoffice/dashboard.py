"""The staff dashboard on the admin index: a handful of aggregate queries, drawn as SVG.

Every figure is an aggregate (COUNT … GROUP BY) or reads a small table (snapshots, job runs),
never a loop over accounts, so it stays fast with a million accounts. Each figure links to the
filtered admin list behind it.
"""

from __future__ import annotations

from datetime import date, datetime

from django.db.models import Count
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import Account, AccountStatus
from backoffice.charts import PALETTE, Bar, Figure, Series, bar_chart, stacked_columns
from backoffice.models import StateSnapshot


def _changelist(model: str, **filters: object) -> str:
    url = reverse(f"admin:{model}_changelist")
    if filters:
        url += "?" + "&".join(f"{k}={v}" for k, v in filters.items())
    return url


def accounts_by_state_now() -> Figure:
    counts = dict(Account.objects.order_by().values_list("status").annotate(n=Count("id")))
    bars = [
        Bar(
            label=str(label),
            value=counts.get(value, 0),
            url=_changelist("accounts_account", status__exact=value),
            colour=PALETTE.get(value, "#417690"),
        )
        for value, label in AccountStatus.choices
    ]
    return Figure(
        title=_("Accounts by state"),
        svg=bar_chart(bars),
        link=_changelist("accounts_account"),
        note=_("%(total)s accounts") % {"total": f"{sum(counts.values()):,}"},
    )


def last_twelve_months(today: date) -> list[date]:
    months, year, month = [], today.year, today.month
    for _i in range(12):
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(months))


def accounts_by_state_by_month(*, now: datetime) -> Figure:
    months = last_twelve_months(now.date())
    snapshot = {
        (s.month, s.status): s.accounts for s in StateSnapshot.objects.filter(month__gte=months[0])
    }
    series = [
        Series(
            label=str(label),
            values=[snapshot.get((m, value), 0) for m in months],
            url=_changelist("accounts_account", status__exact=value),
            colour=PALETTE.get(value, "#417690"),
        )
        for value, label in AccountStatus.choices
    ]
    return Figure(
        title=_("Accounts by state, month by month"),
        svg=stacked_columns([m.strftime("%b %y") for m in months], series),
        note=_("Month-end counts, taken by the snapshot_states job"),
    )


def jobs_overview(*, now: datetime) -> Figure:
    """Each job's last run, its outcome and its next run by beat's schedule."""
    from django_celery_beat.models import PeriodicTask

    from jobs.models import JobRun
    from jobs.registry import JOBS

    rows = []
    tasks = {t.name: t for t in PeriodicTask.objects.filter(task="jobs.run_job")}
    for name in sorted(JOBS):
        last = JobRun.objects.filter(job=name).order_by("-started_at").first()
        task = tasks.get(name)
        next_run = ""
        if task is not None and task.enabled:
            schedule = task.schedule
            last_run_at = task.last_run_at or now
            remaining = schedule.remaining_estimate(last_run_at)
            next_run = f"{max(now, last_run_at + remaining):%Y-%m-%d %H:%M} UTC"
        elif task is not None:
            next_run = _("disabled")
        status = last.get_outcome_display() if last else _("never ran")
        when = f"{last.started_at:%Y-%m-%d %H:%M} UTC" if last else ""
        rows.append(
            (name, f"{status} {when}".strip(), next_run, _changelist("jobs_jobrun", job=name))
        )
    return Figure(title=_("Scheduled jobs"), svg=bar_chart([]), rows=rows)


def figures(*, now: datetime) -> list[Figure]:
    return [accounts_by_state_now(), accounts_by_state_by_month(now=now), jobs_overview(now=now)]
