"""Billing settings, read from django.conf.settings with the SPEC's defaults.

The policy knobs (PAUSE_FEE, PAUSE_FEE_CURRENCY, CARD_RETRY_DAYS, UNPAID_CANCEL_AFTER_DAYS,
PAYMENT_GATEWAY) live in backoffice/settings.py; this module only reads them, so every caller
sees the same default.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings

# Currencies plans and payments may use (ISO 4217).
DEFAULT_CURRENCIES = ("USD", "EUR", "GBP")


def currencies() -> tuple[str, ...]:
    return tuple(getattr(settings, "BILLING_CURRENCIES", DEFAULT_CURRENCIES))


def pause_fees() -> dict[str, Decimal]:
    """The monthly pause fee per currency (R8). PAUSE_FEE is in PAUSE_FEE_CURRENCY; accounts
    billed in another currency pay the same nominal amount unless PAUSE_FEES says otherwise."""
    base = Decimal(getattr(settings, "PAUSE_FEE", Decimal("9.00")))
    base_currency = getattr(settings, "PAUSE_FEE_CURRENCY", "USD")
    fees = {code: base for code in currencies()}
    fees[base_currency] = base
    fees.update(getattr(settings, "PAUSE_FEES", {}))
    return fees


def card_retry_days() -> list[int]:
    """Days after the first decline of a period on which the card is tried again (R11)."""
    return sorted(int(d) for d in getattr(settings, "CARD_RETRY_DAYS", [1, 3, 5]))


def unpaid_cancel_after_days() -> int:
    return int(getattr(settings, "UNPAID_CANCEL_AFTER_DAYS", 90))


def gateway_path() -> str:
    return getattr(settings, "PAYMENT_GATEWAY", "billing.gateway.TestGateway")
