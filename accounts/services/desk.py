"""The cancellation desk: an agent takes a customer's call to cancel (R1, R2, R3, R8)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from accounts import selectors
from accounts.models import (
    Account,
    AccountStatus,
    CancellationOutcome,
    CancellationReason,
    CancellationRequest,
)
from accounts.services.lifecycle import (
    LifecycleError,
    account_event_record,
    account_expire_trial,
    account_pause,
    account_reactivate,
    account_resume,
    cancel_locked,
)
from backoffice.actors import Actor

S = AccountStatus
TAKE_CALL_PERMISSION = "accounts.take_cancellation_call"


class DeskError(LifecycleError):
    """The call cannot be recorded as entered; nothing was changed. Shown to the agent as is."""


def _check(
    *,
    account: Account,
    by: Actor,
    username_typed: str,
    reason: CancellationReason | None,
    pause_accepted: bool | None,
    close_trial: bool,
) -> None:
    if by.user is None or not by.user.has_perm(TAKE_CALL_PERMISSION):
        raise DeskError(f"{by.label} may not take cancellation calls; nothing was changed")
    if username_typed.strip() != account.username:
        raise DeskError(
            f"the username typed ({username_typed.strip() or 'nothing'!s}) does not match this "
            "account; the caller's identity is not confirmed, nothing was changed (R2)"
        )
    if reason is None:
        raise DeskError("choose a reason for the cancellation: no reason, no cancellation (R2)")
    if not reason.active or reason.system:
        raise DeskError(f"the reason {reason.name!r} is retired; choose a current one (R2)")
    if account.status in (S.CANCELLED, S.EXPIRED, S.PURGED):
        since = account.inactive_since or account.created_at
        raise DeskError(
            f"{account.username} is already {account.get_status_display().lower()} (since "
            f"{since.astimezone(account.zone):%Y-%m-%d}); there is nothing to cancel"
        )
    if account.status == S.TRIAL:
        if not close_trial:
            end = account.trial_ends_at
            when = f" on {end.astimezone(account.zone):%Y-%m-%d %H:%M %Z}" if end else ""
            raise DeskError(
                f"{account.username} is on a free trial, which ends by itself{when} (R1); "
                "close the trial now only if the customer insists"
            )
        return
    if close_trial:
        raise DeskError(f"{account.username} is not on a trial; there is no trial to close (R1)")
    if account.status == S.ACTIVE and pause_accepted is None:
        raise DeskError("offer pausing first and record the customer's answer (R2, R8)")


@transaction.atomic
def cancellation_call_take(
    *,
    account: Account,
    by: Actor,
    now: datetime,
    username_typed: str,
    reason: CancellationReason | None,
    callers_words: str,
    pause_accepted: bool | None,
    close_trial: bool = False,
) -> CancellationRequest:
    """Record a customer's call to cancel and act on it, all or nothing.

    The username typed must match (the identity check) and a current reason is required (R2).
    An active account is offered pausing first (R8): `pause_accepted` True pauses it instead
    ("saved by pause"), False cancels; None means the offer was not made, which is refused. A
    paused account that accepts stays paused (also saved by pause); a suspended account cannot
    be paused, and accepting is refused by the lifecycle (R8). A trial ends by itself (R1): only
    `close_trial=True` closes it now. The request records whether the call came before the
    next billing date began in the account's time zone (R3)."""
    locked = Account.objects.select_for_update().get(pk=account.pk)
    _check(
        account=locked,
        by=by,
        username_typed=username_typed,
        reason=reason,
        pause_accepted=pause_accepted,
        close_trial=close_trial,
    )
    words = callers_words.strip()
    why = f"{reason.name}: {words}" if words else reason.name
    billing_date = None if locked.status == S.TRIAL else selectors.next_billing_date(account=locked)
    in_time = selectors.in_time_for(billing_date=billing_date, account=locked, at=now)
    if locked.status == S.TRIAL:
        account_expire_trial(account=locked, by=by, now=now, reason=f"Closed early on call: {why}")
        outcome = CancellationOutcome.TRIAL_CLOSED
    elif pause_accepted:
        was_paused = locked.status == S.PAUSED
        account_pause(account=locked, by=by, now=now, reason=f"Saved by pause on call: {why}")
        if was_paused:
            # No move, but the call belongs on the timeline all the same (R12).
            account_event_record(
                account=locked, kind="saved_by_pause", by=by, now=now, reason=f"Stays paused: {why}"
            )
        outcome = CancellationOutcome.SAVED_BY_PAUSE
    else:
        cancel_locked(account=locked, by=by, now=now, reason=why, voluntary=True)
        outcome = CancellationOutcome.CANCELLED
    request = CancellationRequest.objects.create(
        account=locked,
        at=now,
        reason=reason,
        callers_words=words,
        taken_by=by.user,
        voluntary=True,
        outcome=outcome,
        pause_offered=pause_accepted is not None,
        pause_accepted=bool(pause_accepted),
        next_billing_date=billing_date,
        in_time=in_time,
    )
    account.status, account.inactive_since = locked.status, locked.inactive_since
    return request


# Agent actions besides the call itself, with the same confirmation discipline: the agent
# types the username (the caller's identity) and a reason before anything happens.
AGENT_ACTIONS = {
    "pause": "accounts.pause_account",
    "resume": "accounts.pause_account",
    "reactivate": "accounts.reactivate_account",
}


@transaction.atomic
def account_agent_action(
    *, account: Account, action: str, by: Actor, now: datetime, username_typed: str, reason: str
) -> Account:
    """Pause or resume (R8), or reactivate within the retention window (R7), as an agent, once
    the username typed matches and a reason is given. Refusals change nothing."""
    services = {"pause": account_pause, "resume": account_resume, "reactivate": account_reactivate}
    if action not in services:
        raise DeskError(f"unknown action {action!r}")
    if by.user is None or not by.user.has_perm(AGENT_ACTIONS[action]):
        raise DeskError(f"{by.label} may not {action} accounts; nothing was changed")
    if username_typed.strip() != account.username:
        raise DeskError(
            f"the username typed ({username_typed.strip() or 'nothing'}) does not match this "
            "account; nothing was changed"
        )
    if not reason.strip():
        raise DeskError(f"say why the account is to {action}; nothing was changed (R12)")
    return services[action](account=account, by=by, now=now, reason=reason.strip())
