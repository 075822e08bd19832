"""The mark of the one transaction that may redact an address in the append-only records: an
erasure request being carried out (SPEC "Erasure requests"; ``core.triggers.AllowErasure``).

On PostgreSQL the triggers refuse every UPDATE of those records unless the transaction
carries this mark, naming its own id, and the change only redacts the address it names.
Elsewhere (the embedded SQLite) there are no triggers and the mark is not needed."""

from __future__ import annotations

import json
import re

from django.contrib.admin.models import LogEntry
from django.db import connection
from django.db.models import Q

ERASED = "[erased]"


def erasure_mark(*, request_id: int, key: str, forms: list[str]) -> None:
    """Mark the current transaction as carrying out erasure request `request_id` of the address
    `key` (written also as `forms`). Call inside ``transaction.atomic()``: the mark ends with
    the transaction."""
    if connection.vendor != "postgresql":
        return
    if not connection.in_atomic_block:
        raise RuntimeError("an erasure is carried out inside one transaction")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()::text")
        (xact,) = cursor.fetchone()
        mark = {"xact": xact, "request": request_id, "key": key, "forms": sorted(set(forms))}
        cursor.execute("SELECT set_config('backoffice.erasure', %s, true)", [json.dumps(mark)])


def admin_log_redact(*, forms: list[str]) -> int:
    """Redact the address from the admin's own history (an opt-in added in the admin is
    listed there by its address). Returns the entries changed."""
    changed = 0
    pattern = re.compile("|".join(re.escape(f) for f in forms), re.IGNORECASE)
    match = Q()
    for form in forms:
        match |= Q(object_repr__icontains=form) | Q(change_message__icontains=form)
    for entry in LogEntry.objects.filter(match).only("object_repr", "change_message"):
        entry.object_repr = pattern.sub(ERASED, entry.object_repr)[:200]
        entry.change_message = pattern.sub(ERASED, entry.change_message)
        LogEntry.objects.filter(pk=entry.pk).update(
            object_repr=entry.object_repr, change_message=entry.change_message
        )
        changed += 1
    return changed
