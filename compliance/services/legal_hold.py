"""Legal holds: while set, an account is never purged (R7)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from accounts.models import Account
from accounts.services import account_event_record
from backoffice.actors import Actor


class LegalHoldError(ValueError):
    """A legal hold change that cannot be made as asked; the message says why."""


def _check(by: Actor, reason: str) -> None:
    if by.user is not None and not by.user.has_perm("accounts.set_legal_hold"):
        raise LegalHoldError(f"{by.label} may not set or release legal holds (Compliance only)")
    if not reason or not reason.strip():
        raise LegalHoldError("a legal hold needs a reason (the matter, case or request)")


@transaction.atomic
def account_legal_hold_set(*, account: Account, reason: str, by: Actor, now: datetime) -> bool:
    """Put the account under legal hold; returns False when it already was."""
    _check(by, reason)
    locked = Account.objects.select_for_update().get(pk=account.pk)
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
def account_legal_hold_release(*, account: Account, reason: str, by: Actor, now: datetime) -> bool:
    """Release the account's legal hold; returns False when it had none."""
    _check(by, reason)
    locked = Account.objects.select_for_update().get(pk=account.pk)
    if not locked.legal_hold:
        return False
    locked.legal_hold, locked.legal_hold_reason = False, ""
    locked.save(update_fields=["legal_hold", "legal_hold_reason"])
    account_event_record(
        account=locked, kind="legal_hold_released", by=by, now=now, reason=reason.strip()
    )
    account.legal_hold, account.legal_hold_reason = False, ""
    return True
