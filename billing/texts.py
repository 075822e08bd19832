"""Billing in the staff's words, for every page that shows it (the billing profile, its
payment desk, the account page): what is owed, the next billing date, a payment's result."""

from __future__ import annotations

from datetime import datetime

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from accounts.models import Account
from billing import selectors
from billing.models import BillingProfile, LedgerEntry
from billing.services import amount_owed
from core.localtime import local_day, local_moment


def _amount(value, currency: str) -> str:
    # In the staff member's notation (15,00 in German).
    return f"{number_format(value, 2)} {currency}"


def _when(value, zone) -> str:
    return local_moment(value, zone) if isinstance(value, datetime) else local_day(value, zone)


def owed_sentence(profile: BillingProfile) -> str:
    """What the account owes now, in one sentence: the period, the amount, since when."""
    owed = amount_owed(profile=profile)
    if owed is None:
        return _("Nothing is owed now; a payment on a prepaid account tops up its balance.")
    zone = profile.account.zone
    return _("%(amount)s for the month from %(period)s, unpaid since %(since)s.") % {
        "amount": _amount(owed.amount, owed.currency),
        "period": local_day(owed.period, zone) if owed.period else _("today"),
        "since": _when(owed.since, zone) if owed.since else "—",
    }


def next_billing_sentence(account: Account) -> str:
    day = selectors.next_billing_date(account=account)
    return local_day(day, account.zone) if day else _("none due")


def payment_sentence(entry: LedgerEntry, account: Account) -> str:
    """The result and the new next billing date, in one sentence."""
    return _(
        "Payment of %(amount)s recorded for %(username)s (%(reference)s): the account is "
        "%(status)s, next billing date %(next)s."
    ) % {
        "amount": _amount(entry.amount, entry.currency),
        "username": account.username,
        "reference": entry.reference,
        "status": account.get_status_display().lower(),
        "next": next_billing_sentence(account),
    }
