"""Legal holds (R7: a held account is never purged): the rule for changing one, and the
services that set and release it. Compliance's desk calls them; nothing else changes a hold.
Setting one protects and is done at once; releasing one lets the purge delete the account's
content for good, so it needs a second person's sign-off (``core.signoff``)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Account
from accounts.services.lifecycle import account_event_record, account_lock
from core.actors import Actor
from core.signoff import SignOffRequired, second_person_check

SET_LEGAL_HOLD = "accounts.set_legal_hold"


class LegalHoldError(ValueError):
    """A legal hold change that cannot be made as asked; the message says why."""


def legal_hold_check(*, by: Actor, reason: str | None) -> None:
    """Refuse a legal hold change `by` may not make: it needs the permission (Compliance), and
    a reason (the matter, case or request) unless `reason` is None, where none is asked."""
    if not by.may(SET_LEGAL_HOLD):
        raise LegalHoldError(
            _("%(label)s may not set or release legal holds (Compliance only)")
            % {"label": by.label}
        )
    if reason is not None and not reason.strip():
        raise LegalHoldError(_("a legal hold needs a reason (the matter, case or request)"))


@transaction.atomic
def account_legal_hold_set(*, account: Account, reason: str, by: Actor, now: datetime) -> bool:
    """Put the account under legal hold; returns False when it already was."""
    legal_hold_check(by=by, reason=reason or "")
    locked = account_lock(account)
    if locked.legal_hold:
        return False
    locked.legal_hold, locked.legal_hold_reason = True, reason.strip()[:300]
    locked.save(update_fields=["legal_hold", "legal_hold_reason"])
    account_event_record(
        account=locked, kind="legal_hold_set", by=by, now=now, reason=reason.strip()
    )
    account.legal_hold, account.legal_hold_reason = locked.legal_hold, locked.legal_hold_reason
    return True


@transaction.atomic
def account_legal_hold_release(
    *,
    account: Account,
    reason: str,
    by: Actor,
    now: datetime,
    requested_by: Actor | None = None,
) -> bool:
    """Release the account's legal hold, signing off what `requested_by` asked for (four eyes:
    another compliance officer); returns False when it had none."""
    legal_hold_check(by=by, reason=reason or "")
    try:
        second_person_check(
            by=by,
            requested_by=requested_by,
            permission=SET_LEGAL_HOLD,
            what=_("a legal hold release"),
        )
    except SignOffRequired as exc:
        raise LegalHoldError(str(exc)) from None
    locked = account_lock(account)
    if not locked.legal_hold:
        return False
    locked.legal_hold, locked.legal_hold_reason = False, ""
    locked.save(update_fields=["legal_hold", "legal_hold_reason"])
    account_event_record(
        account=locked, kind="legal_hold_released", by=by, now=now, reason=reason.strip()
    )
    account.legal_hold, account.legal_hold_reason = False, ""
    return True
