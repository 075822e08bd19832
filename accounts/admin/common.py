"""Small helpers shared by the account admin pages."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import selectors
from accounts.models import Account, AccountStatus, CancellationRequest
from billing import selectors as billing_selectors
from billing.models import BillingProfile
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


def billing_profile_of(account: Account) -> BillingProfile | None:
    """The account's billing profile with its plan, `account` attached to it: what a page
    says about billing reads it once."""
    profile = BillingProfile.objects.filter(account_id=account.pk).select_related("plan").first()
    if profile is not None:
        profile.account = account
    return profile


# Said for `profile` when the caller has not read the account's profile: it is read here.
UNREAD = object()


def billing_summary(
    account: Account, now, *, profile: BillingProfile | None | object = UNREAD
) -> str:
    """The next billing date and the last moment to cancel without that charge, in the
    account's time zone (R3), and whether a call now is in time. `profile`: the account's, as
    ``billing_profile_of`` reads it, when the caller has it."""
    if account.status == S.TRIAL:
        return _("none: on trial until %(when)s (R1)") % {
            "when": local_time(account.trial_ends_at, account)
        }
    if profile is UNREAD:
        billing_date = billing_selectors.next_billing_date(account=account)
    elif isinstance(profile, BillingProfile):
        billing_date = billing_selectors.profile_next_billing_date(profile=profile)
    else:
        billing_date = None
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


def next_system_step(account: Account, now, *, profile: BillingProfile | None) -> str:
    """What the system will do next to the account on its own, in one sentence. `profile`:
    the account's, as ``billing_profile_of`` reads it."""
    if account.status == S.TRIAL:
        return _("The trial ends by itself on %(when)s; without a plan the account expires.") % {
            "when": local_time(account.trial_ends_at, account)
        }
    if account.status == S.SUSPENDED:
        day = billing_selectors.unpaid_cancel_date(profile=profile) if profile else None
        return _("Cancelled for non-payment on %(day)s unless a payment is recorded.") % {
            "day": local_day(day, account.zone)
        }
    if account.status in (S.CANCELLED, S.EXPIRED):
        if account.legal_hold:
            return _("Kept while the legal hold is set; purged only after it is released.")
        return _("Purged on %(day)s, with its contacts; suppressions stay.") % {
            "day": local_day(selectors.purge_day(account), account.zone)
        }
    if account.status in (S.ACTIVE, S.PAUSED):
        deadline = (
            billing_selectors.profile_cancellation_deadline(profile=profile) if profile else None
        )
        if deadline is None:
            return _("Nothing is due; no charge is planned.")
        return _("Charged when its next billing date begins, %(when)s.") % {
            "when": local_moment(deadline, account.zone)
        }
    return _("Nothing: the account is purged.")
