"""Changing an account's details (company, primary email, language, time zone): each change an
account event saying field, old → new and why (R12). Status, balances, the ledger and legal
holds never change here: they move only through their own services (a legal hold through
``accounts.services.holds``, by Compliance alone).

A time zone change moves the account's local calendar, and with it billing's cut-off (R3):
``workflows.details`` calls billing after these services."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_noop

from accounts.models import Account, AccountEvent, EventKind
from accounts.selectors import trial_end_for
from core.actors import Actor
from core.localtime import local_moment
from core.problems import Problem, problem_of

# What a manager's import may change on an account, in the words of the timeline. Status,
# balances, the ledger and legal holds are not here: they move only through their own services.
ACCOUNT_DETAILS = {
    "company": "company",
    "primary_email": "primary email",
    "language": "language",
    "time_zone": "time zone",
}
LEGAL_HOLD_FIELDS = ("legal_hold", "legal_hold_reason")


class AccountDetailsError(ValueError):
    """Account details that cannot be changed as asked; nothing was changed. The message says
    why."""


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value) if value not in (None, "") else "(empty)"


def _field_problems(error: ValidationError) -> list[Problem]:
    """Each field's messages as Problems, "field: message", each message by its msgid (Django's
    own messages translate lazily), so a CSV import keeps them in no language."""
    return [
        Problem(gettext_noop("%(field)s: %(problem)s"), field=field, problem=problem_of(item))
        for field, items in error.error_dict.items()
        for item in items
    ]


def _validate(account: Account, wanted: Mapping[str, Any]) -> None:
    """The fields' own rules (a known time zone, a valid address, a known language), so a bad
    value is refused with its field named instead of failing in the database."""
    probe = Account(**{**{f: getattr(account, f) for f in ACCOUNT_DETAILS}, **wanted})
    try:
        probe.clean_fields(exclude=[f.name for f in Account._meta.fields if f.name not in wanted])
    except ValidationError as exc:
        problems = _field_problems(exc)
        raise AccountDetailsError(
            Problem(
                gettext_noop("%(account)s: %(problems)s"), account=str(account), problems=problems
            )
        ) from None


@transaction.atomic
def account_details_change(
    *, account: Account, changes: Mapping[str, Any], by: Actor, now: datetime, reason: str
) -> list[str]:
    """Change one account's details as staff entered them (the account page), with the reason
    for the change; one ``details_changed`` event lists each "field: old → new". Returns the
    changed fields (none: nothing written)."""
    forbidden = sorted(set(changes) - set(ACCOUNT_DETAILS) - set(LEGAL_HOLD_FIELDS))
    if forbidden or set(changes) & set(LEGAL_HOLD_FIELDS):
        what = ", ".join(forbidden) or Problem(gettext_noop("the legal hold"))
        raise AccountDetailsError(
            Problem(
                gettext_noop(
                    "%(what)s cannot be changed here: the status through the "
                    "actions on the account page, a legal hold by Compliance "
                    "under Retention (R7, R12)"
                ),
                what=what,
            )
        )
    if not (reason or "").strip():
        raise AccountDetailsError(
            Problem(gettext_noop("say why the details change (R12); nothing was changed"))
        )
    locked = Account.objects.select_for_update().get(pk=account.pk)
    _validate(locked, changes)
    diffs, fields = [], []
    for field, label in ACCOUNT_DETAILS.items():
        if field in changes and getattr(locked, field) != changes[field]:
            diffs.append(f"{label}: {_shown(getattr(locked, field))} → {_shown(changes[field])}")
            setattr(locked, field, changes[field])
            fields.append(field)
    if not fields:
        return []
    locked.save(update_fields=fields)
    AccountEvent.objects.create(
        account=locked,
        at=now,
        kind="details_changed",
        reason=f"{'; '.join(diffs)} ({reason.strip()})",
        **by.as_fields(),
    )
    for field in fields:
        setattr(account, field, getattr(locked, field))
    return fields


def accounts_update_details(
    *,
    changes: Mapping[str, Mapping[str, Any]],
    by: Actor,
    now: datetime,
    source: str,
    batch_size: int = 1000,
) -> dict[str, int]:
    """Apply the wanted details (username → {field: value}) to existing accounts, all or
    nothing. Each changed account gets one ``details_changed`` event listing "field: old → new".
    Never touches status, balances, the ledger or a legal hold: a field outside ACCOUNT_DETAILS
    is refused."""
    for username, wanted in changes.items():
        forbidden = sorted(set(wanted) - set(ACCOUNT_DETAILS))
        if forbidden:
            raise AccountDetailsError(
                Problem(
                    gettext_noop(
                        "%(username)s: an import may not change %(forbidden)s; it "
                        "changes only %(allowed)s (legal holds: Compliance "
                        "only, R7)"
                    ),
                    username=username,
                    forbidden=", ".join(forbidden),
                    allowed=", ".join(ACCOUNT_DETAILS),
                )
            )
    counts = {"updated": 0, "unchanged": 0, "events": 0}
    with transaction.atomic():
        accounts = list(
            Account.objects.select_for_update().filter(username__in=list(changes)).order_by("pk")
        )
        missing = set(changes) - {a.username for a in accounts}
        if missing:
            raise AccountDetailsError(
                Problem(
                    gettext_noop("no account named %(missing)s"), missing=", ".join(sorted(missing))
                )
            )
        updated: list[Account] = []
        events: list[AccountEvent] = []
        for account in accounts:
            wanted = dict(changes[account.username])
            _validate(account, wanted)
            diffs = []
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
        Account.objects.bulk_update(updated, list(ACCOUNT_DETAILS), batch_size=batch_size)
        AccountEvent.objects.bulk_create(events, batch_size=batch_size)
        counts["updated"] = len(updated)
        counts["events"] = len(events)
    return counts


@transaction.atomic
def account_open(
    *,
    username: str,
    primary_email: str,
    by: Actor,
    now: datetime,
    company: str = "",
    time_zone: str = "UTC",
    language: str = "en",
) -> Account:
    """Open an account on a free trial (R1): its trial ends at local midnight after the last
    trial day; the timeline starts with its creation."""
    username = (username or "").strip()
    if not username:
        raise AccountDetailsError(Problem(gettext_noop("an account needs a username")))
    if Account.objects.filter(username=username).exists():
        raise AccountDetailsError(
            Problem(gettext_noop("an account named %(username)s exists already"), username=username)
        )
    account = Account(
        username=username,
        company=company,
        primary_email=primary_email,
        time_zone=time_zone,
        language=language,
        created_at=now,
    )
    try:
        account.full_clean(exclude=["trial_ends_at", "status"])
    except ValidationError as exc:
        problems = _field_problems(exc)
        raise AccountDetailsError(
            Problem(
                gettext_noop("%(username)s: %(problems)s"), username=username, problems=problems
            )
        ) from None
    account.trial_ends_at = trial_end_for(account=account, started_at=now)
    account.save()
    AccountEvent.objects.create(
        account=account,
        at=now,
        kind=EventKind.CREATED,
        to_status=account.status,
        reason=f"Opened on a free trial until {local_moment(account.trial_ends_at, account.zone)}",
        **by.as_fields(),
    )
    return account
