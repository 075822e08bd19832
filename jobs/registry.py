"""The registry of scheduled jobs. Apps add theirs in their own `jobs.py`:

    @register("expire_trials", description="Trials past their end expire (R1)")
    def expire_trials(*, as_of, dry_run) -> dict[str, int]:
        ...

A job function takes the moment it runs "as of" and whether it is a dry run, calls services,
and returns counts (what it did, or with dry_run what it would do). A job working through big
batches may also take a `progress` keyword: a callable it calls with the number of items just
done, per batch (`runjob` shows it; in a worker there is none and the job gets no-op calls).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

JobFunction = Callable[..., dict[str, int]]
ProgressCallback = Callable[[int], None]


@dataclass(frozen=True)
class Job:
    name: str
    description: str
    function: JobFunction


JOBS: dict[str, Job] = {}


class UnknownJob(LookupError):
    def __init__(self, name: str) -> None:
        known = ", ".join(sorted(JOBS)) or "(none registered)"
        super().__init__(f"unknown job {name!r}; known jobs: {known}")
        self.name = name


def register(name: str, *, description: str) -> Callable[[JobFunction], JobFunction]:
    def decorator(function: JobFunction) -> JobFunction:
        JOBS[name] = Job(name=name, description=description, function=function)
        return function

    return decorator


def get_job(name: str) -> Job:
    try:
        return JOBS[name]
    except KeyError:
        raise UnknownJob(name) from None


def reports_progress(job: Job) -> bool:
    """Whether the job's function takes a `progress` keyword."""
    parameters = inspect.signature(job.function).parameters
    return "progress" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


def run_function(
    job: Job, *, as_of: datetime, dry_run: bool, progress: ProgressCallback | None = None
) -> dict[str, int]:
    kwargs = {}
    if progress is not None and reports_progress(job):
        kwargs["progress"] = progress
    return dict(job.function(as_of=as_of, dry_run=dry_run, **kwargs) or {})
