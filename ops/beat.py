"""Celery beat's scheduler: django-celery-beat's, saying every HEARTBEAT_EVERY seconds that
beat is alive, so readiness (/readyz) and the metrics can tell when beat went silent.

Beat ticks at least every few seconds (the database scheduler's loop), whatever the
schedules say, so a silent beat is a stopped or stuck one, not a quiet schedule.
"""

from __future__ import annotations

import logging
import time

from django.db import DatabaseError
from django.utils import timezone
from django_celery_beat import schedulers

from ops.services import BEAT, heartbeat_record

logger = logging.getLogger(__name__)

# Seconds between two heartbeats: one small UPDATE each, several within BEAT_SILENT_AFTER.
HEARTBEAT_EVERY = 30.0


class DatabaseScheduler(schedulers.DatabaseScheduler):
    """django-celery-beat's scheduler with a heartbeat (ops.models.Heartbeat "beat")."""

    _heard: float | None = None

    def tick(self, *args, **kwargs):
        if self._heard is None or time.monotonic() - self._heard >= HEARTBEAT_EVERY:
            try:
                heartbeat_record(name=BEAT, now=timezone.now())
            except DatabaseError as exc:
                # The schedule itself needs the database too; beat goes on trying.
                logger.warning("beat could not record its heartbeat: %s", exc)
            else:
                self._heard = time.monotonic()
        return super().tick(*args, **kwargs)
