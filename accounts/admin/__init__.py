"""Staff admin of accounts, the cancellation desk, reasons and requests."""

from accounts.admin.accounts import AccountAdmin
from accounts.admin.desk import CancellationReasonAdmin, CancellationRequestAdmin

__all__ = ["AccountAdmin", "CancellationReasonAdmin", "CancellationRequestAdmin"]
