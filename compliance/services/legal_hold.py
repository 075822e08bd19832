"""Legal holds: while set, an account is never purged (R7)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from accounts.models import Account
from accounts.services import LegalHoldError, account_event_record, legal_hold_check
from backoffice.actors import Actor

__all__ = ["LegalHoldError", "account_legal_hold_release", "account_legal_hold_set"]


@transaction.atomic
def account_legal_hold_set(*, account: Account, reason: str, by: Actor, now: datetime) -> bool:
    """Put the account under legal hold; returns False when it already was."""
    legal_hold_check(by=by, reason=reason or "")
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
    legal_hold_check(by=by, reason=reason or "")
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
