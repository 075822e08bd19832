"""Reads of the operations app: heartbeats and the broker queues the workers consume."""

from __future__ import annotations

from datetime import datetime

from celery import current_app as app
from django_celery_beat.models import PeriodicTask

from ops.models import Heartbeat


def heartbeat_at(*, name: str) -> datetime | None:
    """When `name` was last heard from; None if never."""
    return Heartbeat.objects.filter(name=name).values_list("at", flat=True).first()


def celery_queues() -> list[str]:
    """The broker queues jobs are sent to: the default queue and every queue a schedule
    names (a schedule may route its job's batches to workers of their own)."""

    named = (
        PeriodicTask.objects.exclude(queue__isnull=True)
        .exclude(queue="")
        .order_by()
        .values_list("queue", flat=True)
        .distinct()
    )
    return sorted({app.conf.task_default_queue, *named})
