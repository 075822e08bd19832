"""The cancellation desk's checks (R1, R2, R8): what an agent must have entered before a call
or an agent action changes anything. The call itself crosses into billing (R3: the next
billing date, R5/R6: billing closes) and is ``workflows.desk.cancellation_call_take``."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import Account, AccountStatus, CancellationReason
from accounts.services.lifecycle import LifecycleError
from core.actors import Actor

S = AccountStatus
TAKE_CALL_PERMISSION = "accounts.take_cancellation_call"

# Agent actions besides the call itself, with the same confirmation discipline: the agent
# types the username (the caller's identity) and a reason before anything happens.
AGENT_ACTIONS = {
    "pause": "accounts.pause_account",
    "resume": "accounts.pause_account",
    "reactivate": "accounts.reactivate_account",
    # A Billing clerk allows a second pause within one billing period (R8 guardrail); the
    # agent then pauses as usual.
    "allow_pause": "accounts.allow_repeat_pause",
}
# What each action is called in a refusal ("X may not pause accounts"), translated when raised.
AGENT_ACTION_NAMES = {
    "pause": gettext_noop("pause accounts"),
    "resume": gettext_noop("resume accounts"),
    "reactivate": gettext_noop("reactivate accounts"),
    "allow_pause": gettext_noop("allow a second pause"),
}


class DeskError(LifecycleError):
    """The call cannot be recorded as entered; nothing was changed. Shown to the agent as is."""


def _identity_check(*, account: Account, username_typed: str, rule: str = "") -> None:
    typed = username_typed.strip()
    if typed != account.username:
        suffix = f" ({rule})" if rule else ""
        raise DeskError(
            _(
                "the username typed (%(typed)s) does not match this account; the caller's "
                "identity is not confirmed"
            )
            % {"typed": typed or _("nothing")}
            + suffix
        )


def cancellation_call_check(
    *,
    account: Account,
    by: Actor,
    username_typed: str,
    reason: CancellationReason | None,
    pause_accepted: bool | None,
    close_trial: bool,
) -> CancellationReason:
    """Refuse a call that cannot be recorded as entered (DeskError saying what is missing):
    the agent's permission, the identity check by typed username and a current reason (R2),
    a trial closed only on purpose (R1), the pause offered to an active account (R2, R8).
    Returns the reason. `account` is the locked row."""
    if by.user is None or not by.may(TAKE_CALL_PERMISSION):
        raise DeskError(_("%(who)s may not take cancellation calls") % {"who": by.label})
    _identity_check(account=account, username_typed=username_typed, rule="R2")
    if reason is None:
        raise DeskError(
            _("choose a reason for the cancellation: no reason, no cancellation") + " (R2)"
        )
    if not reason.active or reason.system:
        raise DeskError(
            _("the reason “%(reason)s” is retired; choose a current one") % {"reason": reason.name}
            + " (R2)"
        )
    if account.status in (S.CANCELLED, S.EXPIRED, S.PURGED):
        since = account.inactive_since or account.created_at
        raise DeskError(
            _("%(username)s is already %(status)s (since %(since)s); there is nothing to cancel")
            % {
                "username": account.username,
                "status": account.get_status_display().lower(),
                "since": f"{since.astimezone(account.zone):%Y-%m-%d}",
            }
        )
    if account.status == S.TRIAL:
        if not close_trial:
            end = account.trial_ends_at
            when = (
                _(" on %(moment)s")
                % {"moment": f"{end.astimezone(account.zone):%Y-%m-%d %H:%M %Z}"}
                if end
                else ""
            )
            raise DeskError(
                _(
                    "%(username)s is on a free trial, which ends by itself%(when)s (R1); close "
                    "the trial now only if the customer insists"
                )
                % {"username": account.username, "when": when}
            )
        return reason
    if close_trial:
        raise DeskError(
            _("%(username)s is not on a trial; there is no trial to close")
            % {"username": account.username}
            + " (R1)"
        )
    if account.status == S.ACTIVE and pause_accepted is None:
        raise DeskError(_("offer pausing first and record the customer's answer") + " (R2, R8)")
    return reason


def agent_action_check(
    *, account: Account, action: str, by: Actor, username_typed: str, reason: str
) -> str:
    """Refuse an agent action (pause, resume, reactivate) entered without the permission, the
    matching username or a reason (DeskError); returns the reason, trimmed."""
    if action not in AGENT_ACTIONS:
        raise DeskError(_("unknown action %(action)s") % {"action": repr(action)})
    if by.user is None or not by.may(AGENT_ACTIONS[action]):
        raise DeskError(
            _("%(who)s may not %(action)s")
            % {"who": by.label, "action": _(AGENT_ACTION_NAMES[action])}
        )
    typed = username_typed.strip()
    if typed != account.username:
        raise DeskError(
            _("the username typed (%(typed)s) does not match this account")
            % {"typed": typed or _("nothing")}
        )
    if not reason.strip():
        raise DeskError(_("say why: a reason is required") + " (R12)")
    return reason.strip()
