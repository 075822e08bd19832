"""Staff admin of accounts, the cancellation desk, reasons and requests."""

from accounts.admin.accounts import AccountAdmin
from accounts.admin.desk import CancellationReasonAdmin, CancellationRequestAdmin
from accounts.admin.events import AccountEventAdmin

__all__ = [
    "AccountAdmin",
    "AccountEventAdmin",
    "CancellationReasonAdmin",
    "CancellationRequestAdmin",
]
