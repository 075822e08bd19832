"""Billing's part of the account page: the profile and the card on file, read-only there
(they change on their own pages, through billing's workflows, with a reason)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy

from accounts.models import Account
from billing.admin.display import NextChargeDisplay
from billing.models import BillingProfile, Card
from core.admin import ReadOnlyInline


class BillingProfileInline(NextChargeDisplay, ReadOnlyInline):
    model = BillingProfile
    fields = (
        "plan",
        "mode",
        "prepaid_months",
        "auto_renew",
        "next_billing_day",
        "cancel_without_next_charge_until",
        "prepaid_balance",
        "unpaid_since",
        "unpaid_reason",
        "suspended_at",
        "change_billing",
    )
    readonly_fields = fields

    @admin.display(description="")
    def change_billing(self, obj: BillingProfile) -> str:
        if obj is None or obj.pk is None:
            return ""
        url = reverse("admin:billing_billingprofile_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, gettext_lazy("Billing profile"))


class CardInline(ReadOnlyInline):
    model = Card
    fields = ("brand", "last4", "exp_month", "exp_year", "added_at")
    readonly_fields = fields


def _contribute_account_inlines() -> None:
    """The account page belongs to accounts' admin; billing adds its two inlines to it."""
    account_admin = admin.site._registry.get(Account)
    if account_admin is None:
        return
    for inline in (BillingProfileInline, CardInline):
        if inline not in account_admin.inlines:
            account_admin.inlines = [*account_admin.inlines, inline]


_contribute_account_inlines()
