"""The registry of scheduled jobs, and how a job's due items reach it.

A job with much to do names its due items once, a selector, and takes them as a queryset:

    @register("expire_trials", description="Trials past their end expire (R1)",
              due=selectors.trials_due_to_expire, batch_size=2000, step=500)
    def expire_trials(*, items, as_of, dry_run) -> dict[str, int]:
        return trials_expire(accounts=items, by=..., now=as_of)

`due(as_of=...)` is the queryset of the job's items; the framework (not the job) plans a run
into batches of `batch_size` ids (jobs.services), and runs a batch in steps of `step` items:
each step calls the job with `items`, the due items of that step's id range *still due* when it
runs, then reports progress (on a worker, the batch's heartbeat). That re-check, and the claim
each service makes on an item, are what make running a batch twice harmless. With `dry_run`
the job gets every due item of its batch at once and only counts.

A due selector that takes `sender` gets the batch's stable name: the same for every attempt
of that batch, so a batch run again after its worker died can take over its own dead claims
(send_confirmations). A job wrapper that must name its run on a record (purge receipts) asks
`current_run_label`.

A job with nothing to walk (a snapshot, the sweep) names no `due` and is called once with
`as_of` and `dry_run` (and `progress` if it takes it).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

JobFunction = Callable[..., dict[str, int]]
ProgressCallback = Callable[[int], None]

# Ids read per query while the framework walks a batch into steps.
WALK_PAGE = 2000


@dataclass(frozen=True)
class Job:
    name: str
    description: str
    function: JobFunction
    # The job's due items as of a moment (a queryset); None for a job done in one piece.
    due: Callable[..., QuerySet] | None = None
    # Due items per batch: one batch is one Celery task, so it bounds a task's run time,
    # which must stay well under the broker's visibility timeout (see README, Operations).
    batch_size: int = 500
    # Due items per call of the job within a batch: the unit of progress and heartbeat.
    step: int = 500
    # How a due item names its account ("pk" for accounts themselves): the forecast runs the
    # job over one account's items only.
    account_field: str = "account_id"
    # Its due selection is coarser than what its run does (cancel_unpaid: a UTC bound a day
    # wide; the local calendar decides in the run), and its dry run counts what the run would
    # do: the forecast asks the dry run (a query) before a run (a dozen) at a due moment.
    coarse_due: bool = False

    @property
    def size(self) -> int:
        """Due items per batch: JOB_BATCH_SIZES for this job, else the job's own default."""
        from django.conf import settings

        return settings.JOB_BATCH_SIZES.get(self.name, self.batch_size)


JOBS: dict[str, Job] = {}


@dataclass(frozen=True)
class BatchContext:
    """The batch this process is running: its id, and its run's for records."""

    batch_id: int
    run_id: int
    job: str
    as_of: datetime


# The batch this process is running, set by jobs.services around a batch; None outside one.
current_batch: ContextVar[BatchContext | None] = ContextVar("current_batch", default=None)
# The id of the JobRun this process is planning or running a batch of (log lines carry it);
# None outside a run.
current_run: ContextVar[int | None] = ContextVar("current_run", default=None)


class UnknownJob(LookupError):
    def __init__(self, name: str) -> None:
        known = ", ".join(sorted(JOBS)) or "(none registered)"
        super().__init__(f"unknown job {name!r}; known jobs: {known}")
        self.name = name


def register(
    name: str,
    *,
    description: str,
    due: Callable[..., QuerySet] | None = None,
    batch_size: int = 500,
    step: int | None = None,
    account_field: str = "account_id",
    coarse_due: bool = False,
) -> Callable[[JobFunction], JobFunction]:
    def decorator(function: JobFunction) -> JobFunction:
        JOBS[name] = Job(
            name=name,
            description=description,
            function=function,
            due=due,
            batch_size=batch_size,
            step=step or batch_size,
            account_field=account_field,
            coarse_due=coarse_due,
        )
        return function

    return decorator


def get_job(name: str) -> Job:
    try:
        return JOBS[name]
    except KeyError:
        raise UnknownJob(name) from None


def current_run_label() -> str:
    """The job run this process is working for, as a record names it ("job run #12
    (purge_inactive, as of 2026-11-25 06:00 UTC)"); empty outside a batch."""
    batch = current_batch.get()
    if batch is None:
        return ""
    return f"job run #{batch.run_id} ({batch.job}, as of {batch.as_of:%Y-%m-%d %H:%M} UTC)"


def batch_sender() -> str:
    """The stable name of the batch this process runs ("b12"); empty outside a batch."""
    batch = current_batch.get()
    return f"b{batch.batch_id}" if batch else ""


def in_range(queryset: QuerySet, within: tuple[int, int] | None) -> QuerySet:
    """The part of `queryset` a batch covers: ids in (low, high], or all of it for None."""
    if within is None:
        return queryset
    low, high = within
    return queryset.filter(pk__gt=low, pk__lte=high)


@functools.cache
def _takes(function: Callable[..., Any], keyword: str) -> bool:
    parameters = inspect.signature(function).parameters
    return keyword in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


def reports_progress(job: Job) -> bool:
    """Whether a run of the job reports progress: every job that walks due items does (the
    framework counts its steps), and a whole-piece job that takes a `progress` keyword."""
    return job.due is not None or _takes(job.function, "progress")


def due_items(job: Job, *, as_of: datetime, account_id: int | None = None) -> QuerySet:
    """The job's due items as of `as_of`, for this batch (a `sender` due selector gets the
    batch's stable name); with `account_id`, only that account's (the forecast's run): a due
    selector that takes `account_id` narrows to it itself, before it reads anything to shape
    its query (the purge reads the time zones of the accounts past a broad cut)."""
    assert job.due is not None
    kwargs: dict[str, Any] = {"as_of": as_of}
    if _takes(job.due, "sender"):
        kwargs["sender"] = batch_sender()
    if account_id is not None and _takes(job.due, "account_id"):
        kwargs["account_id"] = account_id
    items = job.due(**kwargs)
    if account_id is not None:
        items = items.filter(**{job.account_field: account_id})
    return items


def _steps(
    job: Job, *, as_of: datetime, within: tuple[int, int] | None, account_id: int | None = None
) -> Iterator[tuple[QuerySet, int]]:
    """The batch's due items in id ranges of `job.step`, each re-selected when its turn comes
    (an item done or claimed meanwhile by someone else is no longer due)."""
    low, high = within if within is not None else (0, None)
    while True:
        page = due_items(job, as_of=as_of, account_id=account_id).filter(pk__gt=low)
        if high is not None:
            page = page.filter(pk__lte=high)
        ids = list(page.order_by("pk").values_list("pk", flat=True)[:WALK_PAGE])
        if not ids:
            return
        for start in range(0, len(ids), job.step):
            chunk = ids[start : start + job.step]
            items = due_items(job, as_of=as_of, account_id=account_id)
            yield items.filter(pk__gt=low, pk__lte=chunk[-1]), len(chunk)
            low = chunk[-1]


def run_function(
    job: Job,
    *,
    as_of: datetime,
    dry_run: bool,
    progress: ProgressCallback | None = None,
    within: tuple[int, int] | None = None,
    account_id: int | None = None,
) -> dict[str, int]:
    """Call the job for one batch (`within`: its id range, None for everything due) and
    return its counts, summed over the steps. `account_id` narrows the run to that account's
    due items: the forecast runs a job this way, by the same path as a batch, in one step when
    no progress is asked for (one account's items are few; steps bound a batch's queries and
    time its heartbeat)."""
    if job.due is None:
        kwargs: dict[str, Any] = {}
        if progress is not None and _takes(job.function, "progress"):
            kwargs["progress"] = progress
        return dict(job.function(as_of=as_of, dry_run=dry_run, **kwargs) or {})
    if dry_run:
        items = in_range(due_items(job, as_of=as_of, account_id=account_id), within)
        counts = dict(job.function(items=items, as_of=as_of, dry_run=True) or {})
        if progress is not None:
            progress(items.count())
        return counts
    if account_id is not None and progress is None:
        items = in_range(due_items(job, as_of=as_of, account_id=account_id), within)
        return dict(job.function(items=items, as_of=as_of, dry_run=False) or {})
    totals: dict[str, int] = {}
    ran = False
    for items, count in _steps(job, as_of=as_of, within=within, account_id=account_id):
        ran = True
        counts = job.function(items=items, as_of=as_of, dry_run=False) or {}
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
        if progress is not None:
            progress(count)
    if not ran:
        # Nothing due: the job still says so in its own counts ("sent": 0).
        totals = dict(job.function(items=job.due(as_of=as_of).none(), as_of=as_of, dry_run=False))
    return totals
