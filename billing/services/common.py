"""What every billing service shares: the error, money validation, locking."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext_noop

from accounts.models import Account
from billing import conf
from billing.models import BillingProfile
from core.actors import Actor
from core.localtime import start_of_day
from core.problems import Problem
from core.validators import AMOUNT

CENT = Decimal("0.01")


class BillingError(Exception):
    """A billing request that cannot be done; the message is shown to staff as it is.

    Its message may be a Problem (core.problems): ``str()`` reads it in the active language,
    and a CSV import keeps the Problem itself, so its row error is shown in the reader's."""


# Above any single price, payment or fee of this business, and far inside the ledger's
# DECIMAL(12, 2) columns: an amount past it is a typing error, refused before anything is written.
MAX_AMOUNT = Decimal("1000000.00")


def money(amount: object, currency: str, *, what: Problem | str = "") -> tuple[Decimal, str]:
    """`amount` as a Decimal with at most two places, within MAX_AMOUNT, and `currency` as a
    currency we bill in (ISO 4217); a clear error otherwise. Floats are refused: they cannot
    hold cents exactly. `what` names the amount in the message (a Problem, or words the caller
    translated)."""
    what = what or Problem(gettext_noop("amount"))
    if isinstance(amount, float):
        raise BillingError(
            Problem(
                gettext_noop("%(what)s %(value)r is a float; give money as a decimal string"),
                what=what,
                value=amount,
            )
        )
    if isinstance(amount, Decimal | int) and not isinstance(amount, bool):
        value = Decimal(amount)
        if not value.is_finite():
            raise BillingError(
                Problem(
                    gettext_noop("%(what)s %(value)s is not a number"), what=what, value=str(amount)
                )
            )
    else:
        text = str(amount if amount is not None else "").strip()
        if not AMOUNT.match(text):
            raise BillingError(
                Problem(
                    gettext_noop(
                        "%(what)s %(value)s is not a number (digits 0-9 and one decimal point or "
                        "comma, e.g. 15.00 or 15,00)"
                    ),
                    what=what,
                    value=repr(text[:40]),
                )
            )
        try:
            value = Decimal(text.replace(",", "."))
        except InvalidOperation:
            raise BillingError(
                Problem(
                    gettext_noop("%(what)s %(value)s is not a number"),
                    what=what,
                    value=repr(text[:40]),
                )
            ) from None
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and value != value.quantize(CENT):
        raise BillingError(
            Problem(
                gettext_noop("%(what)s %(value)s has more than two decimals"),
                what=what,
                value=str(value),
            )
        )
    if abs(value) > MAX_AMOUNT:
        raise BillingError(
            Problem(
                gettext_noop(
                    "%(what)s %(value)s is more than the largest amount taken here (%(max)s); "
                    "check it"
                ),
                what=what,
                value=str(value),
                max=str(MAX_AMOUNT),
            )
        )
    code = (currency or "").strip().upper()
    if code not in conf.currencies():
        raise BillingError(
            Problem(
                gettext_noop("currency %(code)s is not one we bill in (%(known)s)"),
                code=repr(str(currency)[:10]),
                known=", ".join(conf.currencies()),
            )
        )
    return value.quantize(CENT), code


def positive_money(amount: object, currency: str, *, what: Problem | str) -> tuple[Decimal, str]:
    value, code = money(amount, currency, what=what)
    if value <= 0:
        raise BillingError(
            Problem(
                gettext_noop("%(what)s must be more than zero, not %(value)s"),
                what=what,
                value=str(value),
            )
        )
    return value, code


def require_permission(by: Actor, permission: str, what: Problem | str) -> None:
    """Refuse a staff member without `permission` (the admin hides the action from them; the
    service refuses whatever calls it)."""
    if not by.may(permission):
        raise BillingError(
            Problem(
                gettext_noop("%(label)s may not %(what)s; nothing was changed"),
                label=by.label,
                what=what,
            )
        )


def lock_profile(account: Account) -> BillingProfile:
    """The account's billing profile, locked after the account row: the lifecycle services lock
    the account first too, so a payment and a cancellation cannot deadlock."""
    locked_account = Account.objects.select_for_update().get(pk=account.pk)
    try:
        profile = (
            BillingProfile.objects.select_for_update(of=("self",))
            .select_related("plan")
            .get(account_id=account.pk)
        )
    except BillingProfile.DoesNotExist:
        raise BillingError(
            Problem(gettext_noop("%(account)s has no billing profile"), account=str(account))
        ) from None
    profile.account = locked_account
    return profile


def schedule_from(profile: BillingProfile, *, first: date, anchor_day: int) -> None:
    """Billing (re)starts: the first billing date `first` (due at its local midnight), then
    monthly on `anchor_day`. The caller saves the profile."""
    profile.anchor_day = anchor_day
    profile.next_billing_date = first
    profile.due_at = start_of_day(first, profile.account.zone)


def clear_nonpayment(profile: BillingProfile) -> None:
    """Forget declines, the unpaid mark and the suspension for it (R11): what was owed is
    settled, or the account starts afresh. The caller saves the profile."""
    profile.card_declines, profile.first_declined_on, profile.retry_on = 0, None, None
    profile.unpaid_since, profile.unpaid_reason = None, ""
    profile.suspended_at = profile.notice_sent_at = None
