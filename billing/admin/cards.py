"""Cards on file and add-ons of accounts in the admin: put on file, corrected, added and
cancelled through billing's workflows (each on the account's timeline), never deleted."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.admin.actions import action_form
from billing.models import AccountAddOn, AddOn, Card
from billing.services import BillingError
from core.actors import Actor
from core.admin import ServiceForm, ServiceFormAdmin
from core.validators import WholeNumberField
from workflows.billing_setup import addon_add, addon_remove, card_expiry_correct, card_put_on_file


class CardAddForm(ServiceForm):
    """Staff paste the token from the gateway's card form; the gateway gives the rest."""

    refusals = (BillingError,)

    class Meta:
        model = Card
        fields = ("account", "token", "exp_month", "exp_year")

    exp_month = WholeNumberField(
        label=gettext_lazy("Expiry month"), min_value=1, max_value=12, required=False
    )
    exp_year = WholeNumberField(
        label=gettext_lazy("Expiry year"), min_value=2000, max_value=2100, required=False
    )

    def apply(self, data, *, by, now):
        return card_put_on_file(
            account=data["account"],
            token=data["token"],
            exp_month=data.get("exp_month"),
            exp_year=data.get("exp_year"),
            by=by,
            now=now,
        )


class CardExpiryForm(ServiceForm):
    """The expiry, corrected from the card itself, with why."""

    refusals = (BillingError,)
    reason = forms.CharField(label=gettext_lazy("Reason for the change"), max_length=300)

    class Meta:
        model = Card
        fields = ("exp_month", "exp_year")

    def apply(self, data, *, by, now):
        card_expiry_correct(
            account=self.instance.account,
            exp_month=data["exp_month"],
            exp_year=data["exp_year"],
            by=by,
            now=now,
            reason=data["reason"],
        )
        return self.instance


@admin.register(Card)
class CardAdmin(ServiceFormAdmin):
    list_display = ("account", "brand", "last4", "exp_month", "exp_year", "added_at")
    list_select_related = ("account",)
    raw_id_fields = ("account",)
    search_fields = ("=account__username", "=last4")
    show_full_result_count = False
    add_form = CardAddForm
    change_form = CardExpiryForm

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("account", "token", "exp_month", "exp_year")
        return ("account", "brand", "last4", "exp_month", "exp_year", "reason", "added_at")

    def get_readonly_fields(self, request, obj=None):
        return ("account", "brand", "last4", "added_at") if obj else ()


class AddOnAddForm(ServiceForm):
    refusals = (BillingError,)

    class Meta:
        model = AccountAddOn
        fields = ("account", "addon")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "addon" in self.fields:
            self.fields["addon"].queryset = AddOn.objects.filter(active=True)

    def apply(self, data, *, by, now):
        return addon_add(account=data["account"], addon_code=data["addon"].code, by=by, now=now)


class CancelAddOnForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=180)


@admin.register(AccountAddOn)
class AccountAddOnAdmin(ServiceFormAdmin):
    list_display = ("account", "addon", "started_at", "cancelled_at")
    list_filter = ("addon",)
    list_select_related = ("account", "addon")
    raw_id_fields = ("account",)
    search_fields = ("=account__username",)
    show_full_result_count = False
    add_form = AddOnAddForm
    actions = ("cancel_addons",)

    def has_change_permission(self, request, obj=None) -> bool:
        # Read-only once added: an add-on is cancelled (the action), never edited.
        return False

    def get_fields(self, request, obj=None):
        return ("account", "addon") if obj is None else ("account", "addon", "started_at")

    def has_cancel_permission(self, request) -> bool:
        return request.user.has_perm("billing.change_accountaddon")

    @admin.action(description=gettext_lazy("Cancel the selected add-ons"), permissions=["cancel"])
    def cancel_addons(self, request, queryset: QuerySet[AccountAddOn]):
        by, now = Actor.staff(request.user), timezone.now()

        def apply(subscription, data):
            if addon_remove(subscription=subscription, by=by, now=now, reason=data["reason"]):
                return _("cancelled")
            return _("was already cancelled")

        if queryset.filter(cancelled_at__isnull=False).count() == queryset.count():
            self.message_user(request, _("These add-ons are cancelled already."), messages.INFO)
            return None
        return action_form(
            self,
            request,
            queryset.select_related("account", "addon"),
            form_class=CancelAddOnForm,
            title=_("Cancel add-ons"),
            action="cancel_addons",
            apply=apply,
        )
