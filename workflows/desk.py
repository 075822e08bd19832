"""The cancellation desk (R1, R2, R3, R8): an agent takes a customer's call to cancel, or
pauses, resumes or reactivates an account on the customer's word."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import (
    Account,
    AccountEvent,
    AccountStatus,
    CancellationOutcome,
    CancellationReason,
    CancellationRequest,
    EventKind,
)
from accounts.services import (
    DeskError,
    account_event_record,
    account_expire_trial,
    account_lock,
    account_pause,
    account_resume,
    agent_action_check,
    cancellation_call_check,
    cancellation_request_record,
)
from billing import selectors as billing_selectors
from billing.calendar import add_months
from core.actors import Actor
from core.localtime import local_date, start_of_day
from workflows.cancellation import cancel_locked
from workflows.reactivation import account_reactivate

S = AccountStatus


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
    locked = account_lock(account)
    reason = cancellation_call_check(
        account=locked,
        by=by,
        username_typed=username_typed,
        reason=reason,
        pause_accepted=pause_accepted,
        close_trial=close_trial,
    )
    words = callers_words.strip()
    why = f"{reason.name}: {words}" if words else reason.name
    billing_date = (
        None if locked.status == S.TRIAL else billing_selectors.next_billing_date(account=locked)
    )
    in_time = billing_selectors.in_time_for(billing_date=billing_date, account=locked, at=now)
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
    request = cancellation_request_record(
        account=locked,
        by=by,
        now=now,
        reason=reason,
        callers_words=words,
        voluntary=True,
        outcome=outcome,
        pause_offered=pause_accepted is not None,
        pause_accepted=bool(pause_accepted),
        next_billing_date=billing_date,
        in_time=in_time,
    )
    account.status, account.inactive_since = locked.status, locked.inactive_since
    return request


@transaction.atomic
def account_agent_action(
    *,
    account: Account,
    action: str,
    by: Actor,
    now: datetime,
    username_typed: str,
    reason: str,
    until: date | None = None,
) -> Account:
    """Pause or resume (R8), or reactivate within the retention window (R7), as an agent, once
    the username typed matches and a reason is given. A pause may end on a chosen local date
    (`until`), within the guardrails (pause_check); a Billing clerk's "allow_pause" records
    the allowance of a second pause within the billing period. Refusals change nothing."""
    why = agent_action_check(
        account=account, action=action, by=by, username_typed=username_typed, reason=reason
    )
    if action == "pause":
        locked = account_lock(account)
        pause_check(account=locked, now=now, until=until)
        return account_pause(account=account, by=by, now=now, reason=why, until=until)
    if action == "allow_pause":
        locked = account_lock(account)
        account_event_record(
            account=locked,
            kind=EventKind.REPEAT_PAUSE_ALLOWED,
            by=by,
            now=now,
            reason=f"A second pause within the billing period allowed: {why} (R8)",
        )
        return locked
    if until is not None:
        raise DeskError(
            _("only a pause has an end date, not %(action)s; nothing was changed")
            % {"action": action}
        )
    services = {"resume": account_resume, "reactivate": account_reactivate}
    return services[action](account=account, by=by, now=now, reason=why)


def pause_check(*, account: Account, now: datetime, until: date | None) -> None:
    """The guardrails of a pause (R8), from settings: an end date after today and at most
    PAUSE_LONGEST_DAYS ahead, on the account's calendar (no end date: paused until resumed);
    no second pause within one billing period (a month, on the account's calendar) unless a
    Billing clerk allowed it since the last pause (DeskError saying which, nothing changed)."""
    zone = account.zone
    today = local_date(now, zone)
    if until is not None:
        longest = settings.PAUSE_LONGEST_DAYS
        if until <= today:
            raise DeskError(
                _(
                    "a pause ends after today (%(today)s in %(time_zone)s), not "
                    "on %(until)s; nothing was changed (R8)"
                )
                % {
                    "today": format(today, "%Y-%m-%d"),
                    "time_zone": account.time_zone,
                    "until": format(until, "%Y-%m-%d"),
                }
            )
        if until > today + timedelta(days=longest):
            raise DeskError(
                _(
                    "a pause lasts at most %(longest)s days: until %(latest)s at "
                    "the latest, not %(until)s; nothing was changed (R8)"
                )
                % {
                    "longest": longest,
                    "latest": today + timedelta(days=longest),
                    "until": format(until, "%Y-%m-%d"),
                }
            )
    period_start = start_of_day(add_months(today, -1, today.day), zone)
    last = (
        AccountEvent.objects.filter(account=account, kind=EventKind.PAUSE, at__gt=period_start)
        .order_by("-at")
        .first()
    )
    if last is None:
        return
    allowed = AccountEvent.objects.filter(
        account=account, kind=EventKind.REPEAT_PAUSE_ALLOWED, at__gte=last.at
    ).exists()
    if not allowed:
        raise DeskError(
            _(
                "%(username)s was paused already on %(paused_on)s, within one "
                "billing period; a second pause needs a Billing clerk to "
                "allow it first; nothing was changed (R8)"
            )
            % {
                "username": account.username,
                "paused_on": format(local_date(last.at, zone), "%Y-%m-%d"),
            }
        )
