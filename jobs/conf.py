"""Settings of the jobs framework, read from django.conf.settings (see README, Configuration)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings


def batch_lease() -> timedelta:
    """How long a running batch may go without a heartbeat before it counts as abandoned."""
    return timedelta(seconds=settings.JOB_BATCH_LEASE)


def redispatch_after() -> timedelta:
    """How long a dispatched batch may wait unstarted before the sweep sends it again."""
    return timedelta(seconds=settings.JOB_REDISPATCH_AFTER)


def late_after() -> timedelta:
    """How long past its due moment a job may go unstarted before it counts as late."""
    return timedelta(seconds=settings.JOB_LATE_AFTER)
