"""Small helpers shared by the account admin pages."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import selectors
from accounts.models import Account, AccountStatus, CancellationRequest
from billing import selectors as billing_selectors
from core.localtime import cancel_before, local_day, local_moment

S = AccountStatus


def local_time(value, account: Account) -> str:
    """The moment on the account's clock, with the zone's abbreviation and name."""
    return local_moment(value, account.zone)


def confirmation_state(obj: CancellationRequest) -> str:
    if obj.confirmation_sent_at:
        return _("sent %(when)s UTC") % {"when": f"{obj.confirmation_sent_at:%Y-%m-%d %H:%M}"}
    attempts = ""
    if obj.confirmation_attempts:
        attempts = _(", %(count)s failed attempt(s)") % {"count": obj.confirmation_attempts}
    if selectors.confirmation_is_overdue(request=obj, as_of=timezone.now()):
        return _("OVERDUE: unsent after %(sla)s%(attempts)s") % {
            "sla": settings.CONFIRMATION_SLA,
            "attempts": attempts,
        }
    return _("pending%(attempts)s") % {"attempts": attempts}


def billing_summary(account: Account, now) -> str:
    """The next billing date and the last moment to cancel without that charge, in the
    account's time zone (R3), and whether a call now is in time."""
    if account.status == S.TRIAL:
        return _("none: on trial until %(when)s (R1)") % {
            "when": local_time(account.trial_ends_at, account)
        }
    billing_date = billing_selectors.next_billing_date(account=account)
    if billing_date is None:
        return _("none due")
    deadline = billing_selectors.billing_date_cutoff(billing_date=billing_date, zone=account.zone)
    in_time = billing_selectors.in_time_for(billing_date=billing_date, account=account, at=now)
    verdict = (
        _("a cancellation now is in time: that date is not charged")
        if in_time
        else _("a cancellation now is too late for that date: it is charged, no refund")
    )
    return _("%(date)s; %(cutoff)s — %(verdict)s") % {
        "date": local_day(billing_date, account.zone),
        "cutoff": cancel_before(deadline, account.zone),
        "verdict": verdict,
    }
