"""The ledger and card charge attempts in the admin: read-only for everyone, superusers
included (R12); refunding a charge is the one action, through its service (never a
prepayment, R5)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.admin.actions import action_form
from billing.models import CardChargeAttempt, LedgerEntry
from billing.resources import LedgerExport
from billing.services import charge_refund
from core.actors import Actor
from core.admin import ReadOnlyAdmin
from exchanges.admin import StreamingExportMixin


class RefundForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=180)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(StreamingExportMixin, ReadOnlyAdmin):
    list_display = ("at", "account", "kind", "amount", "currency", "period", "by", "description")
    list_filter = ("kind", "currency")
    list_select_related = ("account", "by_user")
    search_fields = ("=account__username", "=reference")
    date_hierarchy = "at"
    actions = ("refund_charge",)
    streaming_export = LedgerExport
    streaming_export_permission = "exchanges.export_ledger"

    def has_refund_charge_permission(self, request) -> bool:
        return request.user.has_perm("billing.refund_charge")

    @admin.action(
        description=gettext_lazy("Refund charge (never a prepayment, R5)"),
        permissions=["refund_charge"],
    )
    def refund_charge(self, request, queryset: QuerySet[LedgerEntry]):
        by, now = Actor.staff(request.user), timezone.now()

        def apply(entry, data):
            refund = charge_refund(entry=entry, by=by, now=now, reason=data["reason"])
            return _("refunded %(amount)s %(currency)s") % {
                "amount": refund.amount,
                "currency": refund.currency,
            }

        return action_form(
            self,
            request,
            queryset.select_related("account"),
            form_class=RefundForm,
            title=_("Refund charges"),
            action="refund_charge",
            apply=apply,
        )


@admin.register(CardChargeAttempt)
class CardChargeAttemptAdmin(ReadOnlyAdmin):
    list_display = ("at", "account", "purpose", "amount", "currency", "outcome", "message")
    list_filter = ("outcome", "purpose")
    list_select_related = ("account",)
    search_fields = ("=account__username",)
