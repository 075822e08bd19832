"""Writes about accounts: the lifecycle moves, the cancellation desk, confirmations.

Other apps import from here: ``from accounts.services import account_cancel``.
"""

from accounts.services.confirmations import confirmation_send
from accounts.services.desk import DeskError, account_agent_action, cancellation_call_take
from accounts.services.holds import LegalHoldError, legal_hold_check
from accounts.services.lifecycle import (
    MOVES,
    LifecycleError,
    account_activate,
    account_cancel,
    account_event_record,
    account_expire_trial,
    account_mark_purged,
    account_pause,
    account_reactivate,
    account_resume,
    account_suspend,
    account_unsuspend,
    accounts_mark_purged,
    apply_cancellation_effects,
)

__all__ = [
    "MOVES",
    "DeskError",
    "LegalHoldError",
    "LifecycleError",
    "account_activate",
    "account_agent_action",
    "account_cancel",
    "account_event_record",
    "account_expire_trial",
    "account_mark_purged",
    "accounts_mark_purged",
    "account_pause",
    "account_reactivate",
    "account_resume",
    "account_suspend",
    "account_unsuspend",
    "apply_cancellation_effects",
    "cancellation_call_take",
    "confirmation_send",
    "legal_hold_check",
]
