"""Writes about billing: profiles and cards, the billing run, payments and refunds, billing's
part of non-payment (R3, R5, R8, R11, R12). Billing writes only its own tables; flows that
also move the account (a payment lifting a suspension, a cancellation closing billing) are
in ``workflows``.
"""

from billing.services.catalogue import catalogue_entry_save
from billing.services.charging import Charge, Sent, charge_in_flight_refusal, charge_send
from billing.services.common import BillingError, money
from billing.services.nonpayment import (
    profile_suspension_record,
    suspension_notice,
    suspension_notice_claim,
    suspension_notice_record_sent,
    suspension_notice_release,
)
from billing.services.payments import (
    R5_REFUSAL,
    CardRetry,
    Owed,
    amount_owed,
    card_retry_check,
    card_retry_claim,
    card_retry_record,
    charge_refund,
    charge_refund_check,
    payment_record,
    prepaid_term_buy,
)
from billing.services.profiles import (
    addon_cancel,
    addon_subscribe,
    billing_close_for_cancellation,
    billing_profile_change,
    billing_profile_check,
    billing_profile_open,
    billing_reopen,
    billing_rezone,
    card_attach,
    card_check,
    card_expiry_change,
    plan_get,
)
from billing.services.run import billing_account_run, billing_run, billing_run_preview

__all__ = [
    "Owed",
    "amount_owed",
    "R5_REFUSAL",
    "BillingError",
    "CardRetry",
    "Charge",
    "Sent",
    "addon_cancel",
    "addon_subscribe",
    "billing_account_run",
    "billing_close_for_cancellation",
    "billing_profile_change",
    "billing_profile_check",
    "billing_profile_open",
    "billing_reopen",
    "billing_rezone",
    "billing_run",
    "billing_run_preview",
    "card_attach",
    "card_check",
    "card_expiry_change",
    "card_retry_check",
    "card_retry_claim",
    "card_retry_record",
    "catalogue_entry_save",
    "charge_in_flight_refusal",
    "charge_refund",
    "charge_refund_check",
    "charge_send",
    "money",
    "payment_record",
    "plan_get",
    "prepaid_term_buy",
    "profile_suspension_record",
    "suspension_notice",
    "suspension_notice_claim",
    "suspension_notice_record_sent",
    "suspension_notice_release",
]
