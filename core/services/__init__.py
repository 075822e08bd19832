"""Writes of the shared bottom: the change log of entries without an account timeline."""

from core.services.changes import change_diff, change_record, shown

__all__ = ["change_diff", "change_record", "shown"]
