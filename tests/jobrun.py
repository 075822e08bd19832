"""Calling a scheduled job in a test as the jobs framework calls it: its due items as of a
moment, in the job's steps (jobs.registry.run_function), without recording a run."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from jobs.registry import get_job, run_function


def job(name: str) -> Callable[..., dict[str, int]]:
    """The job `name` as a function of `as_of` (and `dry_run`, `progress`)."""

    def call(
        *, as_of: datetime, dry_run: bool = False, progress: Callable[[int], None] | None = None
    ) -> dict[str, int]:
        return run_function(get_job(name), as_of=as_of, dry_run=dry_run, progress=progress)

    call.__name__ = name
    return call
