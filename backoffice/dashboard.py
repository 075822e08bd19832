"""The staff dashboard on the admin index: a handful of aggregate queries, drawn as SVG.

Every figure is an aggregate (COUNT … GROUP BY) or reads a small table (snapshots, job runs),
never a loop over accounts, so it stays fast with a million accounts. Each figure links to the
filtered admin list behind it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.apps import apps
from django.contrib import admin
from django.db.models import Count, Max, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import dateformat
from django.utils.translation import gettext as _

from accounts.models import AccountStatus, CancellationOutcome, CancellationRequest
from accounts.selectors import (
    accounts_count_by_state,
    confirmation_sent,
    confirmations_overdue,
    confirmations_pending,
    due_for_purge_counts,
)
from backoffice.charts import PALETTE, Bar, Figure, Series, bar_chart, stacked_columns
from backoffice.models import StateSnapshot
from billing.selectors import cancelling_within_counts
from jobs.models import JobRun
from jobs.registry import JOBS
from jobs.selectors import job_schedules, jobs_late, next_due


class Links:
    """Links to the admin lists behind the figures, only to those the staff member may open:
    a figure whose list is closed to the role shows its numbers without a link (no 403)."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        self.request = request  # None: every list (jobs, tests)

    def can_open(self, model: str) -> bool:
        if self.request is None:
            return True
        app_label, model_name = model.split("_", 1)
        model_admin = admin.site._registry.get(apps.get_model(app_label, model_name))
        return model_admin is not None and model_admin.has_view_or_change_permission(self.request)

    def changelist(self, model: str, **filters: object) -> str:
        if not self.can_open(model):
            return ""
        url = reverse(f"admin:{model}_changelist")
        if filters:
            url += "?" + "&".join(f"{k}={v}" for k, v in filters.items())
        return url


EVERY_LIST = Links()


def accounts_by_state_now(*, links: Links = EVERY_LIST) -> Figure:
    counts = accounts_count_by_state()
    bars = [
        Bar(
            label=str(label),
            value=counts.get(value, 0),
            url=links.changelist("accounts_account", status__exact=value),
            colour=PALETTE.get(value, "#417690"),
        )
        for value, label in AccountStatus.choices
    ]
    return Figure(
        title=_("Accounts by state"),
        svg=bar_chart(bars),
        link=links.changelist("accounts_account"),
        note=_("%(total)s accounts") % {"total": f"{sum(counts.values()):,}"},
    )


def last_twelve_months(today: date) -> list[date]:
    months, year, month = [], today.year, today.month
    for _i in range(12):
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(months))


def accounts_by_state_by_month(*, now: datetime, links: Links = EVERY_LIST) -> Figure:
    months = last_twelve_months(now.date())
    snapshot = {
        (s.month, s.status): s.accounts for s in StateSnapshot.objects.filter(month__gte=months[0])
    }
    series = [
        Series(
            label=str(label),
            values=[snapshot.get((m, value), 0) for m in months],
            url=links.changelist("accounts_account", status__exact=value),
            colour=PALETTE.get(value, "#417690"),
        )
        for value, label in AccountStatus.choices
    ]
    return Figure(
        title=_("Accounts by state, month by month"),
        # Month names in the staff member's language.
        svg=stacked_columns([dateformat.format(m, "M y") for m in months], series),
        note=_("Month-end counts, taken by the snapshot_states job"),
    )


# The request figures' windows: cancellations and pause offers over a year, confirmations over
# the last 90 days (within the year).
YEAR = timedelta(days=365)
CONFIRMATIONS_WINDOW = timedelta(days=90)


def request_counts(*, now: datetime) -> list[dict]:
    """The cancellation requests of the last 12 months counted once for three figures (by
    reason, the pause offer's save rate, confirmations on time): one pass over the year's
    requests, by reason and voluntary, where each figure read them again."""
    recent = Q(at__gte=now - CONFIRMATIONS_WINDOW)
    return list(
        CancellationRequest.objects.filter(at__gte=now - YEAR)
        .order_by()
        .values("reason_id", "reason__name", "voluntary")
        .annotate(
            cancelled=Count("id", filter=Q(outcome=CancellationOutcome.CANCELLED)),
            offered=Count("id", filter=Q(pause_offered=True)),
            saved=Count("id", filter=Q(pause_offered=True, pause_accepted=True)),
            on_time=Count("id", filter=recent & confirmation_sent(on_time=True)),
            late=Count("id", filter=recent & confirmation_sent(on_time=False)),
        )
    )


def cancellations_by_reason(*, counts: list[dict], links: Links = EVERY_LIST) -> Figure:
    """Last 12 months of cancellations, by reason, customer's choice vs non-payment.
    `counts`: ``request_counts``."""

    by_reason: dict[tuple[int, str], int] = {}
    voluntary = {True: 0, False: 0}
    for row in counts:
        if not row["cancelled"]:
            continue
        key = (row["reason_id"], row["reason__name"])
        by_reason[key] = by_reason.get(key, 0) + row["cancelled"]
        voluntary[row["voluntary"]] += row["cancelled"]
    bars = [
        Bar(
            label=name,
            value=n,
            url=links.changelist(
                "accounts_cancellationrequest", reason__id__exact=reason_id, outcome="cancelled"
            ),
        )
        for (reason_id, name), n in sorted(by_reason.items(), key=lambda item: -item[1])[:10]
    ]
    split = [
        Bar(
            label=_("All voluntary (agent)"),
            value=voluntary[True],
            url=links.changelist("accounts_cancellationrequest", voluntary__exact=1),
            colour="#2e6f8e",
        ),
        Bar(
            label=_("All involuntary (system)"),
            value=voluntary[False],
            url=links.changelist("accounts_cancellationrequest", voluntary__exact=0),
            colour="#b3261e",
        ),
    ]
    return Figure(
        title=_("Cancellations by reason, last 12 months"),
        svg=bar_chart(split + bars),
        link=links.changelist("accounts_cancellationrequest", outcome="cancelled"),
    )


def pause_offer_save_rate(*, counts: list[dict], links: Links = EVERY_LIST) -> Figure:
    """R8: of the calls where pausing was offered, how many kept the customer. `counts`:
    ``request_counts``."""

    offered = sum(row["offered"] for row in counts)
    saved = sum(row["saved"] for row in counts)
    rate = f"{100 * saved / offered:.0f}%" if offered else "—"
    bars = [
        Bar(
            _("Saved by pause"),
            saved,
            links.changelist("accounts_cancellationrequest", pause_accepted__exact=1),
            "#2e8540",
        ),
        Bar(
            _("Declined, cancelled"),
            offered - saved,
            links.changelist(
                "accounts_cancellationrequest", pause_accepted__exact=0, outcome="cancelled"
            ),
            "#b3261e",
        ),
    ]
    return Figure(
        title=_("Pause offer save rate: %(rate)s") % {"rate": rate},
        svg=bar_chart(bars),
        note=_("Calls in the last 12 months where pausing was offered (R8)"),
    )


def confirmations_on_time(
    *, now: datetime, counts: list[dict], links: Links = EVERY_LIST
) -> Figure:
    """R4: confirmations sent within 24 hours, sent late, and still unsent past 24 hours.
    `counts`: ``request_counts``."""

    figures = {
        "on_time": sum(row["on_time"] for row in counts),
        "late": sum(row["late"] for row in counts),
    }
    # The unsent ones through the selectors the linked lists use, so bar and list agree.
    figures["overdue"] = confirmations_overdue(as_of=now).count()
    figures["pending"] = confirmations_pending(as_of=now).count()
    requests = "accounts_cancellationrequest"
    bars = [
        Bar(
            _("Sent within 24 hours"),
            figures["on_time"],
            links.changelist(requests, confirmation="on_time"),
            "#2e8540",
        ),
        Bar(
            _("Sent late"),
            figures["late"],
            links.changelist(requests, confirmation="late"),
            "#d9822b",
        ),
        Bar(
            _("Overdue now"),
            figures["overdue"],
            links.changelist(requests, confirmation="overdue"),
            "#b3261e",
        ),
        Bar(
            _("Not yet due"),
            figures["pending"],
            links.changelist(requests, confirmation="pending"),
            "#7aa6c2",
        ),
    ]
    return Figure(
        title=_("Cancellation confirmations, last 90 days"),
        svg=bar_chart(bars),
        note=_("Every request gets one confirmation within 24 hours (R4)"),
    )


def coming_up(*, now: datetime, links: Links = EVERY_LIST) -> Figure:
    """Accounts the jobs will cancel for non-payment (R11) or purge (R7) soon."""
    windows = (7, 30)
    cancelling = cancelling_within_counts(as_of=now, days=windows)
    purged = due_for_purge_counts(moments=[now + timedelta(days=days) for days in windows])
    bars = [
        Bar(
            _("Cancelled for non-payment within %(days)s days") % {"days": days},
            cancelling[days],
            links.changelist("billing_billingprofile", cancels_soon=days),
            "#b3261e",
        )
        for days in windows
    ]
    bars += [
        Bar(
            _("Purged within %(days)s days") % {"days": days},
            count,
            links.changelist("compliance_retentionaccount", purge=f"{days}d"),
            "#6b6b6b",
        )
        for days, count in zip(windows, purged, strict=True)
    ]
    return Figure(title=_("Coming up"), svg=bar_chart(bars, width=520))


def jobs_overview(*, now: datetime, links: Links = EVERY_LIST) -> Figure:
    """Each job's last run, its outcome and its next run by beat's schedule; a job whose
    schedule passed with no run (workers down, messages lost) shows as late since then."""

    schedules = job_schedules()
    late = {entry.job: entry.due_at for entry in jobs_late(now=now, schedules=schedules)}
    last_ids = JobRun.objects.filter(job__in=list(JOBS)).values("job").annotate(last=Max("id"))
    last_runs = {
        run.job: run for run in JobRun.objects.filter(pk__in=[r["last"] for r in last_ids])
    }
    rows = []
    tasks = {t.name: t for t in schedules}
    for name in sorted(JOBS):
        last = last_runs.get(name)
        task = tasks.get(name)
        next_run = ""
        if task is not None and task.enabled:
            due_at = next_due(task, after=last.started_at if last else now, now=now)
            next_run = f"{max(now, due_at):%Y-%m-%d %H:%M} UTC"
        elif task is not None:
            next_run = _("disabled")
        status = last.get_outcome_display() if last else _("never ran")
        when = f"{last.started_at:%Y-%m-%d %H:%M} UTC" if last else ""
        if name in late:
            status = _("LATE: due %(due)s UTC, no run since; last: %(status)s") % {
                "due": f"{late[name]:%Y-%m-%d %H:%M}",
                "status": status,
            }
        rows.append(
            (name, f"{status} {when}".strip(), next_run, links.changelist("jobs_jobrun", job=name))
        )
    return Figure(title=_("Scheduled jobs"), svg=bar_chart([]), rows=rows)


def figures(*, now: datetime, links: Links = EVERY_LIST) -> list[Figure]:
    counts = request_counts(now=now)
    return [
        accounts_by_state_now(links=links),
        accounts_by_state_by_month(now=now, links=links),
        cancellations_by_reason(counts=counts, links=links),
        pause_offer_save_rate(counts=counts, links=links),
        confirmations_on_time(now=now, counts=counts, links=links),
        coming_up(now=now, links=links),
        jobs_overview(now=now, links=links),
    ]
