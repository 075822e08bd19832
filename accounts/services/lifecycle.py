"""Lifecycle moves of an account: one service per move in the SPEC's table, nothing else.

Each service locks the account row, returns early when the account is already where the move
leads, refuses a move the table does not allow with an error naming the state and the rule
(and changes nothing), and appends an account event saying who, when and why, all in one
transaction.

Moves that reach beyond this app (cancelling closes billing too, reactivating reopens it)
are workflows (``workflows.cancellation``, ``workflows.reactivation``): they lock the account
and call the account's part here (``account_cancel_move``, ``account_reactivate_move``) and
billing's part in one transaction. Every cancellation creates exactly one
``CancellationRequest`` (``cancellation_request_record``), which R4 confirms.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts import selectors
from accounts.models import (
    Account,
    AccountEvent,
    AccountStatus,
    CancellationReason,
    CancellationRequest,
    EventKind,
)
from accounts.services import content
from core import localtime
from core.actors import Actor

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
        gettext_noop("activate"),
        (S.TRIAL,),
        S.ACTIVE,
        gettext_noop("lifecycle"),
        gettext_noop("a paid plan can only be chosen during a trial"),
    ),
    "expire_trial": Move(
        gettext_noop("expire trial"),
        (S.TRIAL,),
        S.EXPIRED,
        "R1",
        gettext_noop("only a trial can expire or be closed as a trial"),
    ),
    "pause": Move(
        gettext_noop("pause"),
        (S.ACTIVE,),
        S.PAUSED,
        "R8",
        gettext_noop("only an active account can be paused"),
    ),
    "resume": Move(
        gettext_noop("resume"),
        (S.PAUSED,),
        S.ACTIVE,
        "R8",
        gettext_noop("only a paused account can resume"),
    ),
    "suspend": Move(
        gettext_noop("suspend"),
        (S.ACTIVE, S.PAUSED),
        S.SUSPENDED,
        "R11",
        gettext_noop("only an active or paused account can be suspended for non-payment"),
    ),
    "unsuspend": Move(
        gettext_noop("reactivate after payment"),
        (S.SUSPENDED,),
        S.ACTIVE,
        "R11",
        gettext_noop("only a suspended account is reactivated by a payment"),
    ),
    "cancel": Move(
        gettext_noop("cancel"),
        (S.ACTIVE, S.PAUSED, S.SUSPENDED),
        S.CANCELLED,
        "R2",
        gettext_noop("only an active, paused or suspended account can be cancelled"),
    ),
    "reactivate": Move(
        gettext_noop("reactivate"),
        (S.CANCELLED, S.EXPIRED),
        S.ACTIVE,
        "R7",
        gettext_noop("only a cancelled or expired account can be reactivated"),
    ),
    "purge": Move(
        gettext_noop("purge"),
        (S.CANCELLED, S.EXPIRED),
        S.PURGED,
        "R7",
        gettext_noop("only a cancelled or expired account can be purged"),
    ),
}


def _refusal(account: Account, move: Move) -> LifecycleError:
    if move.name == "cancel" and account.status == S.TRIAL:
        # R1: a trial needs no cancellation; the desk offers closing it instead.
        end = account.trial_ends_at.astimezone(account.zone) if account.trial_ends_at else None
        when = _(" on %(moment)s") % {"moment": f"{end:%Y-%m-%d %H:%M %Z}"} if end else ""
        return LifecycleError(
            _(
                "%(username)s is on a free trial, which ends by itself%(when)s (R1); "
                "close the trial instead if the customer insists"
            )
            % {"username": account.username, "when": when}
        )
    return LifecycleError(
        _("cannot %(move)s %(username)s: it is %(status)s, and %(why_not)s")
        % {
            "move": _(move.name),
            "username": account.username,
            "status": account.get_status_display().lower(),
            "why_not": _(move.why_not),
        }
        + f" ({_(move.rule)})"
    )


def account_lock(account: Account) -> Account:
    """The account's row, locked until the transaction ends: every state change and every
    workflow takes this lock first (then billing's), so two of them never deadlock."""
    return Account.objects.select_for_update().get(pk=account.pk)


def _move(
    *, account: Account, move: str, by: Actor, now: datetime, reason: str, kind: str = ""
) -> tuple[Account, bool]:
    """Apply one move to the locked account. Returns (account, moved); moved is False when the
    account already was where the move leads. Must run inside a transaction."""
    spec = MOVES[move]
    locked = account_lock(account)
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
    # Leaving a pause, however (resumed, suspended, cancelled), ends its end date too.
    if source == S.PAUSED:
        locked.paused_until = locked.resumes_at = None
    locked.save(update_fields=["status", "inactive_since", "paused_until", "resumes_at"])
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
    """A timeline entry that is not a state change (a legal hold, a note, a notice sent); its
    kind is one of the closed list (EventKind)."""
    if kind not in EventKind.values:
        raise ValueError(f"unknown kind of account event {kind!r}")
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
def account_pause(
    *, account: Account, by: Actor, now: datetime, reason: str, until: date | None = None
) -> Account:
    """Active → paused (R8): keeps its data, cannot send, pays the pause fee. With `until`,
    the pause ends by itself on that local date (the resume_paused job); without, it lasts
    until resumed. The guardrails (longest pause, one pause per billing period) are the
    desk's (workflows.desk), which knows the billing period."""
    locked, moved = _move(account=account, move="pause", by=by, now=now, reason=reason)
    if moved and until is not None:
        locked.paused_until = until
        locked.resumes_at = localtime.start_of_day(until, locked.zone)
        locked.save(update_fields=["paused_until", "resumes_at"])
        account.paused_until, account.resumes_at = locked.paused_until, locked.resumes_at
    return locked


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
    reason, _created = CancellationReason.objects.get_or_create(
        name=name, defaults={"system": True, "active": False}
    )
    return reason


def account_cancel_move(
    *, account: Account, by: Actor, now: datetime, reason: str, voluntary: bool
) -> tuple[Account, bool]:
    """The cancel move (R2, R11) and what R6 says it does to the account's own content: access
    ends (the status), integrations disconnect, hosted files go offline; sign-up forms keep
    answering but stop recording (the public endpoint checks the status). Billing's part is
    the workflow's. Must run inside a transaction. Returns (account, moved)."""
    locked, moved = _move(
        account=account,
        move="cancel",
        by=by,
        now=now,
        reason=reason,
        kind="cancelled_voluntary" if voluntary else "cancelled_involuntary",
    )
    if moved:
        content.take_offline(account=locked, now=now)
    return locked, moved


def cancellation_request_record(
    *,
    account: Account,
    by: Actor,
    now: datetime,
    reason: CancellationReason,
    callers_words: str,
    voluntary: bool,
    outcome: str,
    next_billing_date: date | None,
    in_time: bool | None,
    pause_offered: bool = False,
    pause_accepted: bool = False,
) -> CancellationRequest:
    """The request R4 confirms, once per cancellation call or cancellation by the system."""
    return CancellationRequest.objects.create(
        account=account,
        at=now,
        reason=reason,
        callers_words=callers_words,
        taken_by=by.user,
        by_job=by.job,
        voluntary=voluntary,
        outcome=outcome,
        pause_offered=pause_offered,
        pause_accepted=pause_accepted,
        next_billing_date=next_billing_date,
        in_time=in_time,
    )


def account_reactivate_move(
    *, account: Account, by: Actor, now: datetime, reason: str
) -> tuple[Account, bool]:
    """Cancelled or expired → active, only within the retention window (R7: refused once the
    account is past retention, by ``selectors.accounts_past_retention``), restoring the content
    that closing took offline. Billing's part is the workflow's. Must run inside a
    transaction. Returns (account, moved)."""
    locked = account_lock(account)
    inactive_since = locked.inactive_since
    if (
        inactive_since is not None
        and locked.status in (S.CANCELLED, S.EXPIRED)
        and selectors.account_is_past_retention(account=locked, as_of=now)
    ):
        days = localtime.days_between(inactive_since, now, locked.zone)
        raise LifecycleError(
            _(
                "cannot reactivate %(username)s: inactive since %(since)s, "
                "%(days)s days ago, more than %(kept)s days, past the "
                "retention window (R7)"
            )
            % {
                "username": locked.username,
                "since": format(localtime.local_date(inactive_since, locked.zone), "%Y-%m-%d"),
                "days": days,
                "kept": selectors.retention_days(),
            }
        )
    locked, moved = _move(account=locked, move="reactivate", by=by, now=now, reason=reason)
    if moved:
        content.bring_online(account=locked, now=now, inactive_since=inactive_since)
    account.status, account.inactive_since = locked.status, locked.inactive_since
    return locked, moved


def accounts_mark_purged(
    *,
    accounts: list[Account],
    by: Actor,
    now: datetime,
    reasons: dict[int, str],
    read_under_lock: bool = False,
) -> list[int]:
    """The purge move (R7) for many accounts at once: one locked read, one UPDATE and one bulk
    insert of their events, each event written by this service as for a single move (R12).
    Accounts already purged are left alone; any other state refuses the whole batch.
    `read_under_lock`: the caller read `accounts` with their rows locked, in the transaction it
    calls this in (the purge's step), so their status is the current one: no second read, and
    no savepoint of its own (a refusal fails the caller's transaction, which wrote nothing of
    the move). Returns the ids that moved."""
    if read_under_lock:
        if not transaction.get_connection().in_atomic_block:
            raise RuntimeError("accounts read under lock need the transaction that locked them")
        return _mark_purged(accounts=accounts, locked=accounts, by=by, now=now, reasons=reasons)
    with transaction.atomic():
        ids = [a.pk for a in accounts]
        locked = list(Account.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
        return _mark_purged(accounts=accounts, locked=locked, by=by, now=now, reasons=reasons)


def _mark_purged(
    *,
    accounts: list[Account],
    locked: list[Account],
    by: Actor,
    now: datetime,
    reasons: dict[int, str],
) -> list[int]:
    spec = MOVES["purge"]
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
    """Cancelled or expired → purged (R7). Deleting the content is the purge workflow's work;
    this records the move once the content is gone."""
    return _move(account=account, move="purge", by=by, now=now, reason=reason)[0]
