"""The registry of scheduled jobs. Apps add theirs in their own `jobs.py`:

    @register("expire_trials", description="Trials past their end expire (R1)")
    def expire_trials(*, as_of, dry_run) -> dict[str, int]:
        ...

A job function takes the moment it runs "as of" and whether it is a dry run, calls services,
and returns counts (what it did, or with dry_run what it would do).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

JobFunction = Callable[..., dict[str, int]]


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


def run_function(job: Job, *, as_of: datetime, dry_run: bool) -> dict[str, int]:
    return dict(job.function(as_of=as_of, dry_run=dry_run) or {})
