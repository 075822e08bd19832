"""Compliance in the admin: suppressions and opt-ins (R9), hand-over exports (R10), imports
of other providers' lists, retention with legal holds and purge receipts (R7). Records are
never edited or deleted here, superusers included (R12); every write is a service call."""

from compliance.admin import complaints, erasure, exports, imports, retention, suppressions

__all__ = ["complaints", "erasure", "exports", "imports", "retention", "suppressions"]
