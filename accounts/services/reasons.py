"""The managed list of cancellation reasons (R2): added, renamed, retired or offered again,
never deleted (old requests keep theirs); every change on the change log (R12). The system's
own reasons (non-payment) are not staff's to change."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext_noop

from accounts.models import CancellationReason
from core.actors import Actor
from core.models import ChangeAction
from core.problems import Problem
from core.services import change_diff, change_record

MANAGE_REASONS = "accounts.change_cancellationreason"
ADD_REASONS = "accounts.add_cancellationreason"


class ReasonError(ValueError):
    """A change to the reasons list that cannot be made; nothing was changed. Its message is a
    Problem (core.problems): read in the active language, kept in none by a CSV import."""


def _clean_name(name: str) -> str:
    text = " ".join((name or "").split())
    if not text:
        raise ReasonError(Problem(gettext_noop("a reason needs a name")))
    if len(text) > 120:
        raise ReasonError(
            Problem(
                gettext_noop("a reason's name is at most 120 characters, not %(count)s"),
                count=len(text),
            )
        )
    return text


@transaction.atomic
def reason_save(
    *,
    name: str,
    active: bool = True,
    reason: CancellationReason | None = None,
    by: Actor,
    now: datetime,
    why: str,
) -> CancellationReason:
    """Add a reason (`reason` None) or change one's name and whether it is offered."""
    text = _clean_name(name)
    clash = CancellationReason.objects.filter(name=text)
    if reason is not None:
        clash = clash.exclude(pk=reason.pk)
    if clash.exists():
        raise ReasonError(
            Problem(gettext_noop("a reason named %(text)s exists already"), text=repr(text))
        )
    if reason is None:
        if not by.may(ADD_REASONS):
            raise ReasonError(
                Problem(gettext_noop("%(label)s may not add cancellation reasons"), label=by.label)
            )
        created = CancellationReason.objects.create(name=text, active=active, created_at=now)
        change_record(
            entry=created,
            action=ChangeAction.CREATED,
            changes=[["name", "(empty)", text], ["active", "(empty)", "yes" if active else "no"]],
            reason=why,
            by=by,
            now=now,
        )
        return created
    if not by.may(MANAGE_REASONS):
        raise ReasonError(
            Problem(gettext_noop("%(label)s may not change cancellation reasons"), label=by.label)
        )
    locked = CancellationReason.objects.select_for_update().get(pk=reason.pk)
    if locked.system:
        raise ReasonError(
            Problem(
                gettext_noop("%(name)s is the system's own reason and cannot be changed"),
                name=repr(locked.name),
            )
        )
    wanted = {"name": text, "active": active}
    changes = change_diff(entry=locked, wanted=wanted)
    if not changes:
        return locked
    action = ChangeAction.CHANGED
    if [field for field, _, _ in changes] == ["active"]:
        action = ChangeAction.RESTORED if active else ChangeAction.RETIRED
    locked.name, locked.active = text, active
    locked.save(update_fields=["name", "active"])
    change_record(entry=locked, action=action, changes=changes, reason=why, by=by, now=now)
    return locked


@transaction.atomic
def reasons_set_active(
    *, reasons: Iterable[CancellationReason], active: bool, by: Actor, now: datetime, why: str
) -> int:
    """Retire reasons (`active` False) or offer them again, all or none; returns how many
    changed. The system's reasons are refused."""
    if not by.may(MANAGE_REASONS):
        raise ReasonError(
            Problem(gettext_noop("%(label)s may not change cancellation reasons"), label=by.label)
        )
    ids = [r.pk for r in reasons]
    locked = list(CancellationReason.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    system = [r.name for r in locked if r.system]
    if system:
        raise ReasonError(
            Problem(
                gettext_noop("%(system)s: the system's own reason(s) cannot be retired or offered"),
                system=", ".join(system),
            )
        )
    changed = 0
    for entry in locked:
        if entry.active == active:
            continue
        changes = change_diff(entry=entry, wanted={"active": active})
        entry.active = active
        entry.save(update_fields=["active"])
        change_record(
            entry=entry,
            action=ChangeAction.RESTORED if active else ChangeAction.RETIRED,
            changes=changes,
            reason=why,
            by=by,
            now=now,
        )
        changed += 1
    return changed
