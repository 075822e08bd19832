"""Writes of the CSV exchanges: account details changed by a manager's import (each change an
account event, R12) and the record of every import."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import transaction

from accounts.models import Account, AccountEvent
from accounts.services import LegalHoldError, legal_hold_check
from backoffice.actors import Actor
from exchanges.models import ImportRecord, ImportStatus

# What a manager's import may change on an account, in the words of the timeline. Status,
# balances and the ledger are not here: they move only through their own services.
ACCOUNT_DETAILS = {
    "company": "company",
    "primary_email": "primary email",
    "language": "language",
    "time_zone": "time zone",
    "legal_hold": "legal hold",
    "legal_hold_reason": "legal hold reason",
}


class ExchangeError(ValueError):
    """An import that cannot be applied as asked; nothing was changed. The message says why."""


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value) if value not in (None, "") else "(empty)"


def _check_legal_hold(by: Actor, account: Account, wanted: Mapping[str, Any]) -> None:
    """The compliance desk's rule (a permission; a reason to set a hold, not to release)."""
    reason = wanted.get("legal_hold_reason", account.legal_hold_reason) or ""
    try:
        legal_hold_check(by=by, reason=reason if wanted["legal_hold"] else None)
    except LegalHoldError as exc:
        raise ExchangeError(f"{account}: {exc} (legal_hold_reason)") from None


def accounts_update_details(
    *,
    changes: Mapping[str, Mapping[str, Any]],
    by: Actor,
    now: datetime,
    source: str,
    batch_size: int = 1000,
) -> dict[str, int]:
    """Apply the wanted details (username → {field: value}) to existing accounts, all or
    nothing. Each changed account gets one ``details_changed`` event listing "field: old → new";
    a legal hold set or released gets its own event as well. Never touches status, balances or
    the ledger: a field outside ACCOUNT_DETAILS is refused."""
    for username, wanted in changes.items():
        forbidden = sorted(set(wanted) - set(ACCOUNT_DETAILS))
        if forbidden:
            raise ExchangeError(
                f"{username}: an import may not change {', '.join(forbidden)}; it changes only "
                f"{', '.join(ACCOUNT_DETAILS)}"
            )
    counts = {"updated": 0, "unchanged": 0, "events": 0}
    with transaction.atomic():
        accounts = list(
            Account.objects.select_for_update().filter(username__in=list(changes)).order_by("pk")
        )
        missing = set(changes) - {a.username for a in accounts}
        if missing:
            raise ExchangeError(f"no account named {', '.join(sorted(missing))}")
        updated: list[Account] = []
        events: list[AccountEvent] = []
        for account in accounts:
            wanted = dict(changes[account.username])
            if wanted.get("legal_hold", account.legal_hold) is False:
                wanted["legal_hold_reason"] = ""
            if wanted.get("legal_hold", account.legal_hold) != account.legal_hold:
                _check_legal_hold(by, account, wanted)
            diffs = []
            hold_before = account.legal_hold
            for field, label in ACCOUNT_DETAILS.items():
                if field in wanted and getattr(account, field) != wanted[field]:
                    diffs.append(
                        f"{label}: {_shown(getattr(account, field))} → {_shown(wanted[field])}"
                    )
                    setattr(account, field, wanted[field])
            if not diffs:
                counts["unchanged"] += 1
                continue
            updated.append(account)
            events.append(
                AccountEvent(
                    account=account,
                    at=now,
                    kind="details_changed",
                    reason=f"{'; '.join(diffs)} (CSV import {source})",
                    **by.as_fields(),
                )
            )
            if account.legal_hold != hold_before:
                events.append(
                    AccountEvent(
                        account=account,
                        at=now,
                        kind="legal_hold_set" if account.legal_hold else "legal_hold_released",
                        reason=(account.legal_hold_reason or "released")
                        + f" (CSV import {source})",
                        **by.as_fields(),
                    )
                )
        Account.objects.bulk_update(updated, list(ACCOUNT_DETAILS), batch_size=batch_size)
        AccountEvent.objects.bulk_create(events, batch_size=batch_size)
        counts["updated"] = len(updated)
        counts["events"] = len(events)
    return counts


def import_record_open(
    *,
    by: Actor,
    now: datetime,
    model: str,
    resource: str,
    file_name: str,
    file_size: int,
    status: str,
    counts: Mapping[str, int] | None = None,
    message: str = "",
    row_errors: list[dict] | None = None,
    fingerprint: str = "",
    stored_file: str = "",
) -> ImportRecord:
    """Record an upload at its preview (or its refusal before one)."""
    counts = counts or {}
    return ImportRecord.objects.create(
        at=now,
        by_user=by.user,
        model=model,
        resource=resource,
        file_name=file_name[:255],
        file_size=file_size,
        status=status,
        rows_total=counts.get("total", 0),
        rows_new=counts.get("new", 0),
        rows_updated=counts.get("updated", 0),
        rows_skipped=counts.get("skipped", 0),
        rows_errors=counts.get("errors", 0),
        message=message,
        row_errors=row_errors or [],
        fingerprint=fingerprint,
        stored_file=stored_file,
    )


def import_record_close(
    *,
    record: ImportRecord,
    now: datetime,
    status: str,
    counts: Mapping[str, int] | None = None,
    message: str = "",
    row_errors: list[dict] | None = None,
) -> ImportRecord:
    """A previewed import was confirmed (written) or refused at its confirmation."""
    if record.status != ImportStatus.PREVIEWED:
        raise ExchangeError(
            f"the import of {record.file_name} is already {record.get_status_display().lower()}"
        )
    record.status = status
    if status == ImportStatus.CONFIRMED:
        record.confirmed_at = now
    if counts is not None:
        record.rows_total = counts.get("total", record.rows_total)
        record.rows_new = counts.get("new", 0)
        record.rows_updated = counts.get("updated", 0)
        record.rows_skipped = counts.get("skipped", 0)
        record.rows_errors = counts.get("errors", 0)
    if message:
        record.message = message
    if row_errors is not None:
        record.row_errors = row_errors
    record.stored_file = ""
    record.save()
    return record
