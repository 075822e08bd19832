"""Card charges in flight (R11, R12): no call to the payment gateway is made inside a
transaction that holds an account's or a billing profile's lock.

A card charge goes in three steps:

1. claim: a short transaction writes the charge on the billing profile (idempotency key,
   purpose, period, amount, currency) with a claim token and a lease, and commits;
2. send: the gateway is asked with the key, outside any transaction;
3. record: a short transaction locks the profile, finds its own claim still there, writes the
   attempt, the ledger rows and the profile's new state, and clears the claim.

So a staff member's payment or an agent's cancellation on the same account waits at most for
one of those short transactions, never for the gateway. A crash between 1 and 3 leaves the
claim on the profile: visible (money actions on the account are refused, naming it) and
resumable: once its lease has lapsed the next billing run sends the same key again, the
gateway answers with the first charge instead of charging twice, and the run records it, so
the period has one charge at the gateway and one ledger entry.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils.translation import gettext as _

from billing.gateway import (
    ChargeResult,
    GatewayError,
    GatewayUnavailable,
    PaymentGateway,
    get_gateway,
)
from billing.models import BillingProfile
from billing.selectors import STAFF_CLAIM_PREFIX
from billing.services.common import BillingError
from core.localtime import local_moment

# Longer than a step of the run takes to call the gateway for its accounts (500 calls of a
# real gateway's round trip), short enough that the next hourly run takes up what a crashed
# one left in flight.
CHARGE_LEASE = timedelta(minutes=10)

# The profile fields a claim writes and a record clears.
CLAIM_FIELDS = [
    "charge_key",
    "charge_purpose",
    "charge_period",
    "charge_amount",
    "charge_currency",
    "charge_claim",
    "charge_claimed_until",
]


@dataclass
class Charge:
    """A card charge claimed on an account's billing profile: what is sent to the gateway
    (again, with the same key, after a crash) and what its outcome is recorded as."""

    profile_id: int
    account_id: int
    key: str
    purpose: str
    # The billing date it pays; None for a prepaid term bought by staff.
    period: date | None
    amount: Decimal
    currency: str
    # The card on file's token when the charge is sent (never stored with the claim).
    token: str = ""
    # Ledger texts of what it pays and of the card payment.
    description: str = ""
    payment: str = ""
    # The claim token it is held by once claimed (claim_write).
    claim: str = ""


@dataclass
class Sent:
    """What the gateway answered to a charge: a result, a transient failure, or a refusal of
    the request itself (an unknown card)."""

    charge: Charge
    result: ChargeResult | None = None
    unavailable: str = ""
    refused: str = ""


def claim_token(*, sender: str = "", staff: bool = False) -> str:
    """A new claim token: a run step's starts with its batch's stable name (so that batch, run
    again after its worker died, takes back its own claims), a staff action's with "staff-"."""
    prefix = STAFF_CLAIM_PREFIX if staff else (f"{sender[:15]}-" if sender else "")
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def claim_write(profile: BillingProfile, charge: Charge, *, token: str, until: datetime) -> None:
    """Put `charge` on the profile as in flight, held by `token` until `until`. The caller
    saves the profile and commits before sending."""
    charge.claim = token
    profile.charge_key = charge.key
    profile.charge_purpose = charge.purpose
    profile.charge_period = charge.period
    profile.charge_amount = charge.amount
    profile.charge_currency = charge.currency
    profile.charge_claim = token
    profile.charge_claimed_until = until


def claim_clear(profile: BillingProfile) -> None:
    """The charge's outcome is recorded: nothing is in flight any more."""
    profile.charge_key = profile.charge_purpose = profile.charge_currency = ""
    profile.charge_claim = ""
    profile.charge_period = profile.charge_amount = profile.charge_claimed_until = None


def claimed_charge(profile: BillingProfile) -> Charge:
    """The charge in flight on the profile, as it was first sent."""
    assert profile.charge_amount is not None
    return Charge(
        profile_id=profile.pk,
        account_id=profile.account_id,
        key=profile.charge_key,
        purpose=profile.charge_purpose,
        period=profile.charge_period,
        amount=profile.charge_amount,
        currency=profile.charge_currency,
    )


def claim_lapsed(profile: BillingProfile, *, now: datetime) -> bool:
    """Whether the charge in flight was left by a process that stopped before recording it."""
    until = profile.charge_claimed_until
    return bool(profile.charge_key) and (until is None or until < now)


def charge_in_flight_refusal(profile: BillingProfile, *, now: datetime) -> BillingError | None:
    """The refusal of a money action on an account with a card charge in flight, naming it;
    None when nothing is in flight. Refused at once: the action never waits for the gateway,
    and nothing it would write can cross the charge's record."""
    if not profile.charge_key:
        return None
    values = {
        "account": profile.account,
        "amount": profile.charge_amount,
        "currency": profile.charge_currency,
        "purpose": _purpose_text(profile.charge_purpose),
    }
    if not claim_lapsed(profile, now=now):
        return BillingError(
            _(
                "%(account)s has a card charge of %(amount)s %(currency)s (%(purpose)s) in "
                "progress at the payment gateway; nothing was changed. Try again in a minute, "
                "once its outcome is recorded."
            )
            % values
        )
    values["sent"] = local_moment(
        (profile.charge_claimed_until or now) - CHARGE_LEASE, profile.account.zone
    )
    if not profile.charge_claim.startswith(STAFF_CLAIM_PREFIX):
        text = _(
            "%(account)s has a card charge of %(amount)s %(currency)s (%(purpose)s) that was "
            "sent to the payment gateway at %(sent)s and whose outcome was not recorded; the "
            "next billing run asks the gateway again with the same key and records it. "
            "Nothing was changed."
        )
    elif profile.charge_purpose == "purchase":
        text = _(
            "%(account)s has a card charge of %(amount)s %(currency)s (%(purpose)s) that was "
            "sent to the payment gateway at %(sent)s and whose outcome was not recorded; "
            "buying the prepaid term again asks the gateway again with the same key and "
            "records it. Nothing was changed."
        )
    else:
        text = _(
            "%(account)s has a card charge of %(amount)s %(currency)s (%(purpose)s) that was "
            "sent to the payment gateway at %(sent)s and whose outcome was not recorded; "
            "'Retry card now' asks the gateway again with the same key and records it. "
            "Nothing was changed."
        )
    return BillingError(text % values)


def _purpose_text(purpose: str) -> str:
    texts = {
        "charge": _("the monthly charge"),
        "pause_fee": _("the pause fee"),
        "renewal": _("the prepaid renewal"),
        "purchase": _("a prepaid term"),
    }
    return texts.get(purpose, purpose)


def charge_send(*, charge: Charge, gateway: PaymentGateway | None = None) -> Sent:
    """Ask the gateway (the configured one by default) for the charge, with its idempotency
    key. Called with no transaction open (the claim is committed before): a slow gateway holds
    no lock of ours."""
    gateway = gateway or get_gateway()
    try:
        result = gateway.charge(
            token=charge.token,
            amount=charge.amount,
            currency=charge.currency,
            idempotency_key=charge.key,
        )
    except GatewayUnavailable as exc:
        return Sent(charge=charge, unavailable=str(exc)[:200])
    except GatewayError as exc:
        return Sent(charge=charge, refused=str(exc))
    return Sent(charge=charge, result=result)
