"""Erasing a person's data from accounts (GDPR Art. 17, SPEC "Erasure requests"): their
contacts and sign-up submissions are deleted, and the address is redacted ("[erased]") from
timeline entries and the callers' words of cancellation requests. Only the erasure workflow
calls this, inside the transaction that carries the mark of its erasure request
(``core.erasure.erasure_mark``): the timeline is append-only, and its trigger lets through
exactly this redaction and nothing else.

Addresses are matched case-insensitively on every form the request gives (as typed, the
normalised key, the domain in Unicode), on one account or on every account."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Lower

from accounts.models import (
    AccountEvent,
    CancellationRequest,
    Contact,
    EventKind,
    SignupSubmission,
)
from core.actors import Actor

ERASED = "[erased]"


def _scoped(queryset: QuerySet, account_ids: list[int] | None) -> QuerySet:
    return queryset if account_ids is None else queryset.filter(account_id__in=account_ids)


def _per_account(queryset: QuerySet) -> Counter:
    rows = queryset.order_by().values("account_id").annotate(n=Count("id"))
    return Counter({row["account_id"]: row["n"] for row in rows})


def _pattern_sql() -> str:
    # The same pattern the timeline's trigger builds from the erasure mark (core.triggers).
    return (
        "(SELECT string_agg(regexp_replace(form, '([^[:alnum:]])', '\\\\\\1', 'g'), '|') "
        "FROM unnest(%s::text[]) AS form)"
    )


def _redact_text(
    *, table: str, column: str, forms: list[str], account_ids: list[int] | None
) -> Counter:
    """Replace every form of the address in `column` by "[erased]"; per account, the rows."""
    counts: Counter = Counter()
    if connection.vendor == "postgresql":
        scope = "" if account_ids is None else "AND account_id = ANY(%s)"
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET {column} = regexp_replace({column}, p.pattern, %s, 'gi') "
                f"FROM (SELECT {_pattern_sql()} AS pattern) p "
                f"WHERE {column} ~* p.pattern {scope} RETURNING account_id",
                [ERASED, forms, *([account_ids] if account_ids is not None else [])],
            )
            counts.update(row[0] for row in cursor.fetchall())
        return counts
    # The embedded SQLite: no triggers to satisfy; the same replacement in Python.
    pattern = re.compile("|".join(re.escape(f) for f in forms), re.IGNORECASE)
    match = Q()
    for form in forms:
        match |= Q(**{f"{column}__icontains": form})
    model = AccountEvent if table == AccountEvent._meta.db_table else CancellationRequest
    rows = _scoped(model.objects.filter(match), account_ids).values_list("id", "account_id", column)
    with connection.cursor() as cursor:
        for pk, account_id, text in list(rows):
            cursor.execute(
                f"UPDATE {table} SET {column} = %s WHERE id = %s", [pattern.sub(ERASED, text), pk]
            )
            counts[account_id] += 1
    return counts


def personal_data_erase(
    *, forms: list[str], account_ids: list[int] | None
) -> dict[int, dict[str, int]]:
    """Delete the contacts and sign-up submissions of the address written as `forms` (each
    lower-cased, none containing another) and redact it from timeline entries and callers'
    words, on `account_ids` or on every account (None). Returns, per account touched, what went."""
    lowered = [f.lower() for f in forms]
    found: dict[str, Counter] = {}
    for name, model in (("contacts", Contact), ("signup_submissions", SignupSubmission)):
        rows = _scoped(model.objects.alias(lowered_email=Lower("email")), account_ids).filter(
            lowered_email__in=lowered
        )
        found[name] = _per_account(rows)
        rows.delete()
    found["timeline_entries"] = _redact_text(
        table=AccountEvent._meta.db_table, column="reason", forms=forms, account_ids=account_ids
    )
    found["cancellation_notes"] = _redact_text(
        table=CancellationRequest._meta.db_table,
        column="callers_words",
        forms=forms,
        account_ids=account_ids,
    )
    per_account: dict[int, dict[str, int]] = {}
    for name, counts in found.items():
        for account_id, n in counts.items():
            per_account.setdefault(account_id, {})[name] = n
    return per_account


def personal_data_erased_record(
    *, reasons: dict[int, str], by: Actor, now: datetime
) -> list[AccountEvent]:
    """One timeline entry per account an erasure touched, saying what went (never whose)."""
    return AccountEvent.objects.bulk_create(
        AccountEvent(
            account_id=account_id,
            at=now,
            kind=EventKind.PERSONAL_DATA_ERASED,
            reason=reason,
            **by.as_fields(),
        )
        for account_id, reason in sorted(reasons.items())
    )
