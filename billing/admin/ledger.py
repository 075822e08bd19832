"""The ledger and card charge attempts in the admin: read-only for everyone, superusers
included (R12); asking for a refund of a charge is the one action (never a prepayment, R5):
another billing clerk signs it off under Sign-offs, which refunds through billing's service."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from approvals.services import ApprovalError
from billing.admin.actions import action_form
from billing.models import CardChargeAttempt, LedgerEntry
from billing.resources import LedgerExport
from core.actors import Actor
from core.admin import ReadOnlyAdmin
from exchanges.admin import StreamingExportMixin
from workflows.billing_signoffs import refund_request


class RefundForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=180)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(StreamingExportMixin, ReadOnlyAdmin):
    list_display = ("at", "account", "kind", "amount", "currency", "period", "by", "description")
    list_filter = ("kind", "currency")
    list_select_related = ("account", "by_user")
    search_fields = ("=account__username", "=reference")
    date_hierarchy = "at"
    actions = ("request_refund",)
    streaming_export = LedgerExport
    streaming_export_permission = "exchanges.export_ledger"

    def has_refund_charge_permission(self, request) -> bool:
        return request.user.has_perm("billing.refund_charge")

    @admin.action(
        description=gettext_lazy(
            "Ask to refund the charge (a second person signs off; never a prepayment, R5)"
        ),
        permissions=["refund_charge"],
    )
    def request_refund(self, request, queryset: QuerySet[LedgerEntry]):
        by, now = Actor.staff(request.user), timezone.now()

        def apply(entry, data):
            signoff = refund_request(entry=entry, by=by, now=now, reason=data["reason"])
            return _(
                "refund of %(amount)s %(currency)s asked for (sign-off #%(id)s): another "
                "billing clerk signs it off under Sign-offs"
            ) % {"amount": entry.amount, "currency": entry.currency, "id": signoff.pk}

        return action_form(
            self,
            request,
            queryset.select_related("account"),
            form_class=RefundForm,
            title=_("Ask to refund charges"),
            action="request_refund",
            apply=apply,
            refusals=(ApprovalError,),
        )


@admin.register(CardChargeAttempt)
class CardChargeAttemptAdmin(ReadOnlyAdmin):
    list_display = ("at", "account", "purpose", "amount", "currency", "outcome", "message")
    list_filter = ("outcome", "purpose")
    list_select_related = ("account",)
    search_fields = ("=account__username",)
