"""Lifecycle moves of an account: one service per move in the SPEC's table, nothing else.

Each service locks the account row, returns early when the account is already where the move
leads, refuses a move the table does not allow with an error naming the state and the rule
(and changes nothing), and appends an account event saying who, when and why, all in one
transaction.

Cancellation requests: every cancellation creates exactly one ``CancellationRequest`` (R4
confirms each one). ``account_cancel`` creates it itself, so the system's cancellations
(billing's ``cancel_unpaid`` job calls ``account_cancel(voluntary=False, ...)``) need nothing
else: the request is marked involuntary with the system reason "Non-payment", and the
``send_confirmations`` job confirms it. An agent's call goes through
``accounts.services.desk.cancellation_call_take``, which records the reason, the caller's
words and the pause offer on the request instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction

from accounts import content, selectors
from accounts.models import (
    Account,
    AccountEvent,
    AccountStatus,
    CancellationOutcome,
    CancellationReason,
    CancellationRequest,
)
from backoffice.actors import Actor

S = AccountStatus


class LifecycleError(Exception):
    """A move the lifecycle does not allow; the message is shown to staff as it is."""


@dataclass(frozen=True)
class Move:
    name: str
    sources: tuple[str, ...]
    target: str
    rule: str
    why_not: str


MOVES = {
    "activate": Move(
        "activate",
        (S.TRIAL,),
        S.ACTIVE,
        "lifecycle",
        "a paid plan can only be chosen during a trial",
    ),
    "expire_trial": Move(
        "expire trial",
        (S.TRIAL,),
        S.EXPIRED,
        "R1",
        "only a trial can expire or be closed as a trial",
    ),
    "pause": Move("pause", (S.ACTIVE,), S.PAUSED, "R8", "only an active account can be paused"),
    "resume": Move("resume", (S.PAUSED,), S.ACTIVE, "R8", "only a paused account can resume"),
    "suspend": Move(
        "suspend",
        (S.ACTIVE, S.PAUSED),
        S.SUSPENDED,
        "R11",
        "only an active or paused account can be suspended for non-payment",
    ),
    "unsuspend": Move(
        "reactivate after payment",
        (S.SUSPENDED,),
        S.ACTIVE,
        "R11",
        "only a suspended account is reactivated by a payment",
    ),
    "cancel": Move(
        "cancel",
        (S.ACTIVE, S.PAUSED, S.SUSPENDED),
        S.CANCELLED,
        "R2",
        "only an active, paused or suspended account can be cancelled",
    ),
    "reactivate": Move(
        "reactivate",
        (S.CANCELLED, S.EXPIRED),
        S.ACTIVE,
        "R7",
        "only a cancelled or expired account can be reactivated",
    ),
    "purge": Move(
        "purge",
        (S.CANCELLED, S.EXPIRED),
        S.PURGED,
        "R7",
        "only a cancelled or expired account can be purged",
    ),
}


def _refusal(account: Account, move: Move) -> LifecycleError:
    if move.name == "cancel" and account.status == S.TRIAL:
        # R1: a trial needs no cancellation; the desk offers closing it instead.
        end = account.trial_ends_at.astimezone(account.zone) if account.trial_ends_at else None
        when = f" on {end:%Y-%m-%d %H:%M %Z}" if end else ""
        return LifecycleError(
            f"{account.username} is on a free trial, which ends by itself{when} (R1); "
            "close the trial instead if the customer insists"
        )
    return LifecycleError(
        f"cannot {move.name} {account.username}: it is {account.get_status_display().lower()}, "
        f"and {move.why_not} ({move.rule})"
    )


def _lock(account: Account) -> Account:
    return Account.objects.select_for_update().get(pk=account.pk)


def _move(
    *, account: Account, move: str, by: Actor, now: datetime, reason: str, kind: str = ""
) -> tuple[Account, bool]:
    """Apply one move to the locked account. Returns (account, moved); moved is False when the
    account already was where the move leads. Must run inside a transaction."""
    spec = MOVES[move]
    locked = _lock(account)
    if locked.status == spec.target:
        return locked, False
    if locked.status not in spec.sources:
        raise _refusal(locked, spec)
    source = locked.status
    locked.status = spec.target
    if spec.target in (S.CANCELLED, S.EXPIRED):
        locked.inactive_since = now
    elif spec.target == S.ACTIVE:
        locked.inactive_since = None
    locked.save(update_fields=["status", "inactive_since"])
    AccountEvent.objects.create(
        account=locked,
        at=now,
        kind=kind or move,
        from_status=source,
        to_status=spec.target,
        reason=reason,
        **by.as_fields(),
    )
    account.status, account.inactive_since = locked.status, locked.inactive_since
    return locked, True


def account_event_record(
    *, account: Account, kind: str, by: Actor, now: datetime, reason: str
) -> AccountEvent:
    """A timeline entry that is not a state change (a legal hold, a note, a notice sent)."""
    return AccountEvent.objects.create(
        account=account, at=now, kind=kind, reason=reason, **by.as_fields()
    )


@transaction.atomic
def account_activate(*, account: Account, by: Actor, now: datetime, reason: str) -> Account:
    """Trial → active: a paid plan was chosen."""
    return _move(account=account, move="activate", by=by, now=now, reason=reason)[0]


@transaction.atomic
def account_expire_trial(*, account: Account, by: Actor, now: datetime, reason: str) -> Account:
    """Trial → expired (R1): its end was reached (job) or an agent closed it early. Like a
    cancellation, the customer loses access: integrations disconnect and hosted files go
    offline until a reactivation (R7)."""
    locked, moved = _move(account=account, move="expire_trial", by=by, now=now, reason=reason)
    if moved:
        content.take_offline(account=locked, now=now)
    return locked


@transaction.atomic
def account_pause(*, account: Account, by: Actor, now: datetime, reason: str) -> Account:
    """Active → paused (R8): keeps its data, cannot send, pays the pause fee."""
    return _move(account=account, move="pause", by=by, now=now, reason=reason)[0]


@transaction.atomic
def account_resume(*, account: Account, by: Actor, now: datetime, reason: str) -> Account:
    """Paused → active (R8)."""
    return _move(account=account, move="resume", by=by, now=now, reason=reason)[0]


@transaction.atomic
def account_suspend(*, account: Account, by: Actor, now: datetime, reason: str) -> Account:
    """Active or paused → suspended for non-payment (R11)."""
    return _move(account=account, move="suspend", by=by, now=now, reason=reason)[0]


@transaction.atomic
def account_unsuspend(*, account: Account, by: Actor, now: datetime, reason: str) -> Account:
    """Suspended → active: a payment was recorded (R11)."""
    return _move(account=account, move="unsuspend", by=by, now=now, reason=reason)[0]


# Names of the reasons the system records on requests no agent took (never offered at the desk).
NON_PAYMENT_REASON = "Non-payment"
OUTSIDE_DESK_REASON = "Not recorded (cancelled outside the desk)"


def system_reason(*, name: str) -> CancellationReason:
    reason, _ = CancellationReason.objects.get_or_create(
        name=name, defaults={"system": True, "active": False}
    )
    return reason


def cancel_locked(
    *, account: Account, by: Actor, now: datetime, reason: str, voluntary: bool
) -> tuple[Account, bool]:
    """The cancel move plus everything R6 says cancelling does; no request is recorded. Must
    run inside a transaction. Returns (account, moved)."""
    locked, moved = _move(
        account=account,
        move="cancel",
        by=by,
        now=now,
        reason=reason,
        kind="cancelled_voluntary" if voluntary else "cancelled_involuntary",
    )
    if moved:
        apply_cancellation_effects(account=locked, by=by, now=now)
    return locked, moved


@transaction.atomic
def account_cancel(
    *, account: Account, by: Actor, now: datetime, reason: str, voluntary: bool
) -> Account:
    """Active, paused or suspended → cancelled (R2, R11), with everything R6 says cancelling
    does, in the same transaction. `voluntary` is True when an agent took the customer's call,
    False when the system cancelled for non-payment. Records the cancellation request that R4
    confirms (see the module docstring)."""
    locked = _lock(account)
    billing_date = selectors.next_billing_date(account=locked)
    locked, moved = cancel_locked(
        account=locked, by=by, now=now, reason=reason, voluntary=voluntary
    )
    if moved:
        CancellationRequest.objects.create(
            account=locked,
            at=now,
            reason=system_reason(name=OUTSIDE_DESK_REASON if voluntary else NON_PAYMENT_REASON),
            callers_words=reason,
            taken_by=by.user,
            by_job=by.job,
            voluntary=voluntary,
            outcome=CancellationOutcome.CANCELLED,
            next_billing_date=billing_date,
            in_time=selectors.in_time_for(billing_date=billing_date, account=locked, at=now),
        )
    account.status, account.inactive_since = locked.status, locked.inactive_since
    return locked


def apply_cancellation_effects(*, account: Account, by: Actor, now: datetime) -> None:
    """R6: access ends (status), add-ons cancelled and prepaid balance forfeited (billing, R5),
    integrations disconnected, hosted files offline; sign-up forms keep answering but stop
    recording (the public endpoint checks the status)."""
    from billing.services import billing_close_for_cancellation

    content.take_offline(account=account, now=now)
    billing_close_for_cancellation(account=account, by=by, now=now)


@transaction.atomic
def account_reactivate(*, account: Account, by: Actor, now: datetime, reason: str) -> Account:
    """Cancelled or expired → active, only within the retention window (R7), restoring the
    content that closing took offline. Days count on the account's local calendar: inactive
    since a Monday evening, the following Tuesday is day 1; day RETENTION_DAYS is the last
    day it can come back ("more than 120 days" is day 121)."""
    locked = _lock(account)
    inactive_since = locked.inactive_since
    if locked.status in (S.CANCELLED, S.EXPIRED) and inactive_since:
        days = selectors.local_days_between(account=locked, start=inactive_since, end=now)
        if days > settings.RETENTION_DAYS:
            raise LifecycleError(
                f"cannot reactivate {locked.username}: inactive since "
                f"{inactive_since.astimezone(locked.zone):%Y-%m-%d}, {days} days ago, more than "
                f"{settings.RETENTION_DAYS} days, past the retention window (R7)"
            )
    locked, moved = _move(account=locked, move="reactivate", by=by, now=now, reason=reason)
    if moved:
        from billing.services import billing_reopen

        content.bring_online(account=locked, now=now, inactive_since=inactive_since)
        # Billing starts again from today; without this a reactivated account is never billed.
        billing_reopen(account=locked, by=by, now=now)
    account.status, account.inactive_since = locked.status, locked.inactive_since
    return locked


@transaction.atomic
def accounts_mark_purged(
    *, accounts: list[Account], by: Actor, now: datetime, reasons: dict[int, str]
) -> list[int]:
    """The purge move (R7) for many accounts at once: one locked read, one UPDATE and one bulk
    insert of their events, each event written by this service as for a single move (R12).
    Accounts already purged are left alone; any other state refuses the whole batch.
    Returns the ids that moved."""
    spec = MOVES["purge"]
    ids = [a.pk for a in accounts]
    locked = list(Account.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    for account in locked:
        if account.status != spec.target and account.status not in spec.sources:
            raise _refusal(account, spec)
    moving = [a for a in locked if a.status != spec.target]
    if not moving:
        return []
    Account.objects.filter(pk__in=[a.pk for a in moving]).update(status=spec.target)
    AccountEvent.objects.bulk_create(
        AccountEvent(
            account=a,
            at=now,
            kind="purge",
            from_status=a.status,
            to_status=spec.target,
            reason=reasons.get(a.pk, ""),
            **by.as_fields(),
        )
        for a in moving
    )
    moved = {a.pk for a in moving}
    for account in accounts:
        if account.pk in moved:
            account.status = spec.target
    return sorted(moved)


@transaction.atomic
def account_mark_purged(*, account: Account, by: Actor, now: datetime, reason: str) -> Account:
    """Cancelled or expired → purged (R7). Deleting the content is the purge job's work
    (compliance); this records the move once the content is gone."""
    return _move(account=account, move="purge", by=by, now=now, reason=reason)[0]
