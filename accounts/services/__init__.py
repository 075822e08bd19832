"""Writes about accounts: the lifecycle moves, the desk's checks, confirmations, details,
legal holds, content. Accounts is the bottom of the domain: it imports no other app; flows
that also touch billing or compliance are in ``workflows``.
"""

from accounts.services.confirmations import confirmation_send
from accounts.services.desk import (
    AGENT_ACTIONS,
    DeskError,
    agent_action_check,
    cancellation_call_check,
)
from accounts.services.details import (
    ACCOUNT_DETAILS,
    AccountDetailsError,
    account_details_change,
    account_open,
    accounts_update_details,
)
from accounts.services.holds import (
    LegalHoldError,
    account_legal_hold_release,
    account_legal_hold_set,
    legal_hold_check,
)
from accounts.services.lifecycle import (
    MOVES,
    NON_PAYMENT_REASON,
    OUTSIDE_DESK_REASON,
    LifecycleError,
    account_activate,
    account_cancel_move,
    account_event_record,
    account_expire_trial,
    account_lock,
    account_mark_purged,
    account_pause,
    account_reactivate_move,
    account_resume,
    account_suspend,
    account_unsuspend,
    accounts_mark_purged,
    cancellation_request_record,
    system_reason,
)
from accounts.services.reasons import ReasonError, reason_save, reasons_set_active

__all__ = [
    "ACCOUNT_DETAILS",
    "AGENT_ACTIONS",
    "MOVES",
    "NON_PAYMENT_REASON",
    "OUTSIDE_DESK_REASON",
    "AccountDetailsError",
    "DeskError",
    "LegalHoldError",
    "LifecycleError",
    "ReasonError",
    "account_activate",
    "account_cancel_move",
    "account_details_change",
    "account_event_record",
    "account_expire_trial",
    "account_legal_hold_release",
    "account_legal_hold_set",
    "account_lock",
    "account_open",
    "account_mark_purged",
    "account_pause",
    "account_reactivate_move",
    "account_resume",
    "account_suspend",
    "account_unsuspend",
    "accounts_mark_purged",
    "accounts_update_details",
    "agent_action_check",
    "cancellation_call_check",
    "cancellation_request_record",
    "confirmation_send",
    "legal_hold_check",
    "reason_save",
    "reasons_set_active",
    "system_reason",
]
