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

from accounts.models import Account
from approvals.services import ApprovalError
from billing import conf, selectors
from billing.admin.actions import action_form
from billing.models import CardChargeAttempt, LedgerEntry
from billing.resources import LedgerExport
from billing.services.common import CENT
from core.actors import Actor
from core.admin import ReadOnlyAdmin, WhenFilter
from exchanges.admin import StreamingExportMixin
from workflows.billing_signoffs import refund_request


class CurrencyFilter(admin.SimpleListFilter):
    """The currencies billing takes (its settings), not a DISTINCT over every ledger entry."""

    title = gettext_lazy("currency")
    parameter_name = "currency"

    def lookups(self, request, model_admin):
        return [(code, code) for code in conf.currencies()]

    def queryset(self, request, queryset):
        return queryset.filter(currency=self.value()) if self.value() else queryset


class AccountFilter(admin.SimpleListFilter):
    """One account's entries (the billing profile links here): then the list shows the
    account's running balance. No choice list: a list of every account would be a table scan."""

    title = gettext_lazy("account")
    parameter_name = "account"

    def lookups(self, request, model_admin):
        value = self.value()
        if not value:
            return []
        account = Account.objects.filter(pk=int(value)).first() if value.isdigit() else None
        if account is None:
            return [(value, _("no account with id %(id)s") % {"id": value})]
        return [(value, str(account))]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return selectors.ledger_with_balance(queryset, account_id=int(value))


def _filtered_account(request) -> bool:
    return (request.GET.get(AccountFilter.parameter_name) or "").isdigit()


class RefundForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=180)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(StreamingExportMixin, ReadOnlyAdmin):
    list_display = ("at", "account", "kind", "amount", "currency", "period", "by", "description")
    list_filter = (AccountFilter, WhenFilter, "kind", CurrencyFilter)
    list_select_related = ("account", "by_user")
    search_fields = ("=account__username", "=reference")
    actions = ("request_refund",)
    streaming_export = LedgerExport
    streaming_export_permission = "exchanges.export_ledger"

    def get_list_display(self, request):
        # The running balance is summed only for one account: over the whole ledger it would
        # be a window over every entry on each page view.
        column = "balance_after" if _filtered_account(request) else "balance_filter_hint"
        return (*self.list_display[:5], column, *self.list_display[5:])

    @admin.display(description=gettext_lazy("balance after"))
    def balance_after(self, obj: LedgerEntry) -> str:
        value = getattr(obj, "balance_after", None)
        if value is None:
            return "—"
        # SQLite's window sum comes back without the amount's places ("121"): shown in cents
        # like every other amount on the page.
        return f"{value.quantize(CENT)} {obj.currency}"

    @admin.display(description=gettext_lazy("balance after: filter by one account"))
    def balance_filter_hint(self, obj: LedgerEntry) -> str:
        return "—"

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
