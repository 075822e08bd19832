"""The change log of catalogue entries and other records without an account timeline (R12):
every service that creates or changes one records who, when, old → new and why here, in the
same transaction as the change."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.db import models

from core.actors import Actor
from core.models import ChangeRecord


def shown(value: Any) -> str:
    """A value as the change log shows it."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == "":
        return "(empty)"
    return str(value)


def change_diff(
    *, entry: models.Model, wanted: Mapping[str, Any], fields: Iterable[str] | None = None
) -> list[list[str]]:
    """[[field, old, new], ...] for the fields of `wanted` whose value differs from `entry`'s,
    in the order of `fields` (default: `wanted`'s)."""
    names = list(fields) if fields is not None else list(wanted)
    return [
        [name, shown(getattr(entry, name)), shown(wanted[name])]
        for name in names
        if name in wanted and getattr(entry, name) != wanted[name]
    ]


def change_record(
    *,
    entry: models.Model,
    action: str,
    changes: list[list[str]],
    reason: str,
    by: Actor,
    now: datetime,
) -> ChangeRecord:
    """Record a change of `entry` (already saved, in the caller's transaction)."""
    return ChangeRecord.objects.create(
        at=now,
        model=entry._meta.label_lower,
        object_id=str(entry.pk),
        object_repr=str(entry)[:200],
        action=action,
        changes=changes,
        reason=reason,
        **by.as_fields(),
    )
