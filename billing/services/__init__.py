"""Writes about billing: profiles and cards, the billing run, payments and refunds,
non-payment (R3, R5, R8, R11, R12).

Other apps import from here: ``from billing.services import billing_close_for_cancellation``.
"""

from billing.services.common import BillingError, money
from billing.services.nonpayment import unpaid_cancel_due, unpaid_suspend_due
from billing.services.payments import (
    R5_REFUSAL,
    card_retry_now,
    charge_refund,
    payment_record,
    prepaid_term_buy,
)
from billing.services.profiles import (
    addon_subscribe,
    billing_close_for_cancellation,
    billing_profile_check,
    billing_profile_open,
    billing_reopen,
    card_attach,
    card_check,
    plan_get,
)
from billing.services.run import billing_account_run, billing_run

__all__ = [
    "R5_REFUSAL",
    "BillingError",
    "addon_subscribe",
    "billing_account_run",
    "billing_close_for_cancellation",
    "billing_profile_check",
    "billing_profile_open",
    "billing_reopen",
    "billing_run",
    "card_attach",
    "card_check",
    "card_retry_now",
    "charge_refund",
    "money",
    "payment_record",
    "plan_get",
    "prepaid_term_buy",
    "unpaid_cancel_due",
    "unpaid_suspend_due",
]
