"""The registry of scheduled jobs. Apps add theirs in their own `jobs.py`:

    @register("expire_trials", description="Trials past their end expire (R1)")
    def expire_trials(*, as_of, dry_run) -> dict[str, int]:
        ...

A job function takes the moment it runs "as of" and whether it is a dry run, calls services,
and returns counts (what it did, or with dry_run what it would do). A job working through big
batches may also take a `progress` keyword: a callable it calls with the number of items just
done (`runjob` shows it as a bar; on a worker it is the batch's heartbeat).

A job with much to do names its due items, so a run can be split over the workers:

    @register("expire_trials", description=..., due=selectors.trials_due_to_expire,
              batch_size=500)
    def expire_trials(*, as_of, dry_run, within=None) -> dict[str, int]:
        due = in_range(selectors.trials_due_to_expire(as_of=as_of), within)
        ...

`due(as_of=...)` is a queryset of the items; a run walks their ids and makes one batch of each
`batch_size` of them, and each batch calls the function with `within=(low, high)`: only items
with low < id <= high that are *still* due when the batch runs. That re-check, and the claim
each job makes on an item, are what make running a batch twice harmless.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

JobFunction = Callable[..., dict[str, int]]
ProgressCallback = Callable[[int], None]


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

    @property
    def size(self) -> int:
        """Due items per batch: JOB_BATCH_SIZES for this job, else the job's own default."""
        from django.conf import settings

        return settings.JOB_BATCH_SIZES.get(self.name, self.batch_size)


JOBS: dict[str, Job] = {}

# The id of the JobBatch this process is running, for a job that must tell its own earlier,
# dead attempt apart from another run (send_confirmations' claims); None outside a batch.
current_batch: ContextVar[int | None] = ContextVar("current_batch", default=None)
# The id of the JobRun whose batch this process is running (log lines carry both); None
# outside a run.
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
) -> Callable[[JobFunction], JobFunction]:
    def decorator(function: JobFunction) -> JobFunction:
        JOBS[name] = Job(
            name=name, description=description, function=function, due=due, batch_size=batch_size
        )
        return function

    return decorator


def get_job(name: str) -> Job:
    try:
        return JOBS[name]
    except KeyError:
        raise UnknownJob(name) from None


def in_range(queryset: QuerySet, within: tuple[int, int] | None) -> QuerySet:
    """The part of `queryset` a batch covers: ids in (low, high], or all of it for None."""
    if within is None:
        return queryset
    low, high = within
    return queryset.filter(pk__gt=low, pk__lte=high)


def _takes(job: Job, keyword: str) -> bool:
    parameters = inspect.signature(job.function).parameters
    return keyword in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


def reports_progress(job: Job) -> bool:
    """Whether the job's function takes a `progress` keyword."""
    return _takes(job, "progress")


def run_function(
    job: Job,
    *,
    as_of: datetime,
    dry_run: bool,
    progress: ProgressCallback | None = None,
    within: tuple[int, int] | None = None,
) -> dict[str, int]:
    kwargs = {}
    if progress is not None and reports_progress(job):
        kwargs["progress"] = progress
    if within is not None:
        kwargs["within"] = within
    return dict(job.function(as_of=as_of, dry_run=dry_run, **kwargs) or {})
