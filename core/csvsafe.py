"""Cells that are safe to open in a spreadsheet.

A spreadsheet runs a cell starting with ``=``, ``+``, ``-`` or ``@`` as a formula (tab and
carriage return can hide one), so an exported company name ``=HYPERLINK(...)`` would become a
link or worse on a manager's machine. Every exported cell goes through ``neutralise``, which
prefixes such a cell with a single quote; imports take the quote off again with ``restore`` so
that a file exported, edited and imported back changes nothing it should not.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def as_text(value: Any) -> str:
    """The text of a value in an export: empty for None, yes/no for booleans, ISO dates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date | Decimal):
        return str(value)
    return str(value)


def neutralise(value: Any) -> str:
    """The value as a cell a spreadsheet shows as text, never runs as a formula."""
    text = as_text(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def restore(text: str) -> str:
    """Undo ``neutralise`` on an imported cell: ``'=1`` was exported from ``=1``."""
    if len(text) > 1 and text[0] == "'" and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text
