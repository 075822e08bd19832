"""The payment gateway adapter, and the deterministic test gateway.

Every charge carries an idempotency key: a gateway that sees a key again returns the first
result instead of charging again, so a billing run retried after a crash (the charge went
through, our transaction did not) never charges twice.

Test gateway tokens (the outcome depends only on the token):

===========================  ====================================================
token                        outcome
===========================  ====================================================
``tok_visa``                 succeeds (Visa •••• 4242)
``tok_mastercard``           succeeds (Mastercard •••• 4444)
``tok_amex``                 succeeds (Amex •••• 8431)
``tok_ok_<anything>``        succeeds (Visa •••• 1111); for demo and benchmark data
``tok_decline``              declined: card_declined (Visa •••• 0002)
``tok_decline_first``        declined at the first try of each period (its key ends
                             ``:0``), succeeds at the retry (Visa •••• 0341)
``tok_insufficient_funds``   declined: insufficient_funds (Visa •••• 9995)
``tok_unavailable``          fails transiently, every time (Visa •••• 0119)
anything else                rejected when attaching the card
===========================  ====================================================

A transient failure is neither a payment nor a decline: the run leaves the period due and
tries again on its next run with the same key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from django.utils.module_loading import import_string

from billing import conf


class GatewayError(Exception):
    """The gateway refused a request as malformed (e.g. an unknown token)."""


class GatewayUnavailable(Exception):
    """The gateway could not be reached or failed transiently; try again later."""


@dataclass(frozen=True)
class CardDetails:
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class ChargeResult:
    succeeded: bool
    reference: str = ""
    decline_code: str = ""


class PaymentGateway:
    """What billing needs from a payment gateway."""

    def card_details(self, *, token: str) -> CardDetails:
        """The displayable details of a tokenised card; GatewayError if the token is unknown."""
        raise NotImplementedError

    def charge(
        self, *, token: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> ChargeResult:
        """Charge the card once per idempotency key. Raises GatewayUnavailable on a transient
        failure (nothing was charged, or the same key will return the first result). Error
        messages never carry the token: billing logs them."""
        raise NotImplementedError

    def refund(
        self, *, reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> str:
        """Refund (part of) a charge; returns the refund's reference."""
        raise NotImplementedError


_TEST_CARDS = {
    "tok_visa": ("Visa", "4242", "ok"),
    "tok_mastercard": ("Mastercard", "4444", "ok"),
    "tok_amex": ("Amex", "8431", "ok"),
    "tok_decline": ("Visa", "0002", "card_declined"),
    "tok_decline_first": ("Visa", "0341", "decline_first"),
    "tok_insufficient_funds": ("Visa", "9995", "insufficient_funds"),
    "tok_unavailable": ("Visa", "0119", "unavailable"),
}
# Test cards expire far enough ahead for any test; an expiring card is a Card row whose
# expiry staff entered (or the demo set) in the past.
_TEST_EXPIRY = (12, 2045)


class TestGateway(PaymentGateway):
    """Deterministic gateway for development and tests: the outcome depends on the token
    only, and the charge on the idempotency key only: the same key always gives back the same
    charge (same reference), so a retried call is never a second charge. Nothing is kept in
    memory, so a long billing run stays flat."""

    __test__ = False  # a gateway, not a test class for pytest to collect

    def _card(self, token: str) -> tuple[str, str, str]:
        if token in _TEST_CARDS:
            return _TEST_CARDS[token]
        if token.startswith("tok_ok_") and len(token) > len("tok_ok_"):
            return ("Visa", "1111", "ok")
        raise GatewayError(
            f"the payment gateway does not know the card token {token!r}; "
            "use a token from the gateway's card form (test tokens: see billing/gateway.py)"
        )

    def card_details(self, *, token: str) -> CardDetails:
        brand, last4, _ = self._card(token)
        return CardDetails(
            brand=brand, last4=last4, exp_month=_TEST_EXPIRY[0], exp_year=_TEST_EXPIRY[1]
        )

    def charge(
        self, *, token: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> ChargeResult:
        try:
            _, _, behaviour = self._card(token)
        except GatewayError:
            # At billing time the error goes to logs and the staff's messages: it names the
            # card on file, never its token (only attaching echoes what the staff typed).
            raise GatewayError(
                "the payment gateway no longer knows the card on file; attach the card again"
            ) from None
        if behaviour == "decline_first":
            # The billing run's key ends with the period's declines so far: ":0" is its first.
            behaviour = "card_declined" if idempotency_key.endswith(":0") else "ok"
        if behaviour == "unavailable":
            raise GatewayUnavailable("test gateway: temporarily unavailable (tok_unavailable)")
        if behaviour != "ok":
            return ChargeResult(succeeded=False, decline_code=behaviour)
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:20]
        return ChargeResult(succeeded=True, reference=f"ch_test_{digest}")

    def refund(
        self, *, reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> str:
        if not reference.startswith("ch_test_"):
            raise GatewayError(f"the payment gateway knows no charge {reference!r}")
        return "re_test_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:20]


@cache
def configured_gateway() -> PaymentGateway:
    """The configured gateway (settings.PAYMENT_GATEWAY), one instance per process."""
    return import_string(conf.gateway_path())()


# The gateway of a simulation running in this context (the forecast's), None outside one.
_simulated: ContextVar[PaymentGateway | None] = ContextVar("simulated_gateway", default=None)


@contextmanager
def simulated_gateway(gateway: PaymentGateway) -> Iterator[None]:
    """Within the block, billing asks `gateway` instead of the configured one: a dry run never
    reaches a real payment gateway."""
    token = _simulated.set(gateway)
    try:
        yield
    finally:
        _simulated.reset(token)


def get_gateway() -> PaymentGateway:
    """The gateway billing asks: the simulation's within one, else the configured one."""
    return _simulated.get() or configured_gateway()
