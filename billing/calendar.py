"""Billing dates: monthly steps on the anchor day. The local calendar itself (which day a
moment falls on, when a day begins) is core.localtime."""

from __future__ import annotations

import calendar
from datetime import date


def add_months(day: date, months: int, anchor_day: int) -> date:
    """`day` moved by whole months, landing on `anchor_day` or the month's last day."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(anchor_day, last))


def next_billing_after(day: date, today: date, anchor_day: int) -> date:
    """The first monthly billing date after `day` that is also after `today`: a run that was
    late (or an account reactivated after months) bills once, not once per missed month."""
    months = 1
    nxt = add_months(day, months, anchor_day)
    while nxt <= today:
        months += 1
        nxt = add_months(day, months, anchor_day)
    return nxt
