"""Writes of the operations app: heartbeats."""

from __future__ import annotations

from datetime import datetime

from ops.models import Heartbeat

# The heartbeat celery beat writes while it runs (ops.beat).
BEAT = "beat"


def heartbeat_record(*, name: str, now: datetime) -> None:
    """`name` is alive at `now`: one upsert, no history (the metrics keep that)."""
    Heartbeat.objects.update_or_create(name=name, defaults={"at": now})
