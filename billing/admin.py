"""Billing in the admin: profiles with their questions (suspended, cancels soon, balance low),
payments, refunds and card retries as actions that call one service each, and a ledger no one
can edit or delete (R12), superusers included."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.admin.paging import EstimatedCountPaginator
from accounts.models import Account
from accounts.selectors import cancellation_deadline
from backoffice.actors import Actor
from backoffice.localtime import days_between, local_day, local_moment
from billing import selectors
from billing.models import (
    AccountAddOn,
    AddOn,
    BillingProfile,
    Card,
    CardChargeAttempt,
    LedgerEntry,
    Plan,
)
from billing.resources import AddOnResource, LedgerExport, PlanResource
from billing.services import (
    BillingError,
    billing_profile_check,
    billing_profile_open,
    card_attach,
    card_check,
    card_retry_now,
    charge_refund,
    payment_record,
)
from exchanges.admin import CsvExportMixin, CsvImportMixin, StreamingExportMixin


def _cancellation_deadline(account: Account):
    """The lifecycle's cut-off for the next charge (R3)."""
    return cancellation_deadline(account=account)


def _local(moment, account: Account) -> str:
    return local_moment(moment, account.zone)


# --- the questions staff ask -----------------------------------------------------------------


class SuspendedDaysUnpaidFilter(admin.SimpleListFilter):
    title = gettext_lazy("suspended, days unpaid")
    parameter_name = "days_unpaid"
    RANGES = selectors.UNPAID_DAY_BANDS

    def lookups(self, request, model_admin):
        return [(key, _("%(range)s days") % {"range": key}) for key in self.RANGES]

    def queryset(self, request, queryset):
        if self.value() not in self.RANGES:
            return queryset
        low, high = self.RANGES[self.value()]
        # Combined, not `pk__in`: the date range then narrows the suspended-profiles index.
        return queryset & selectors.profiles_suspended_for_days(
            as_of=timezone.now(), low=low, high=high
        )


class CancelsWithinSevenDaysFilter(admin.SimpleListFilter):
    title = gettext_lazy("cancellation for non-payment")
    parameter_name = "cancels_soon"

    def lookups(self, request, model_admin):
        return [("7", _("cancels within 7 days"))]

    def queryset(self, request, queryset):
        if self.value() != "7":
            return queryset
        soon = selectors.profiles_cancelling_within(as_of=timezone.now(), days=7)
        return queryset & soon


class PrepaidBelowOneMonthFilter(admin.SimpleListFilter):
    title = gettext_lazy("prepaid balance")
    parameter_name = "prepaid_low"

    def lookups(self, request, model_admin):
        return [("yes", _("below one month"))]

    def queryset(self, request, queryset):
        if self.value() != "yes":
            return queryset
        return queryset.filter(pk__in=selectors.profiles_prepaid_below_one_month().values("pk"))


# --- forms of the actions --------------------------------------------------------------------


class PaymentForm(forms.Form):
    amount = forms.CharField(
        label=gettext_lazy("Amount"), help_text=gettext_lazy("e.g. 540.00 (two decimals at most)")
    )
    currency = forms.CharField(label=gettext_lazy("Currency"), max_length=3, initial="USD")
    reference = forms.CharField(
        label=gettext_lazy("Reference"),
        max_length=120,
        help_text=gettext_lazy("Bank transfer id, cheque number"),
    )


class RefundForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=180)


def _report_counts(modeladmin, request, title, done: int, refused: int) -> None:
    """The closing message of an action on several rows: how many it did, how many not."""
    modeladmin.message_user(
        request,
        _("%(title)s: %(done)s done, %(refused)s refused.")
        % {"title": title, "done": done, "refused": refused},
        messages.WARNING if refused else messages.SUCCESS,
    )


def _action_form(modeladmin, request, queryset, *, form_class, title, action, apply):
    """Show `form_class` for the selected rows; on a valid post call `apply(obj, data)` for
    each and report every result or error as a message, then the counts."""
    form = form_class(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        done = refused = 0
        for obj in queryset:
            try:
                result = apply(obj, form.cleaned_data)
            except BillingError as exc:
                refused += 1
                modeladmin.message_user(request, f"{obj}: {exc}", messages.ERROR)
            else:
                done += 1
                modeladmin.message_user(request, f"{obj}: {result}", messages.SUCCESS)
        _report_counts(modeladmin, request, title, done, refused)
        return None
    return TemplateResponse(
        request,
        "admin/billing/action_form.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "form": form,
            "objects": queryset,
            "action": action,
            "opts": modeladmin.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        },
    )


# --- the catalogue ---------------------------------------------------------------------------


@admin.register(Plan)
class PlanAdmin(CsvImportMixin, CsvExportMixin, admin.ModelAdmin):
    list_display = ("name", "code", "monthly_price", "currency", "active")
    resource_classes = [PlanResource]
    import_permission = "exchanges.import_catalogue"
    export_permission = "exchanges.export_catalogue"
    list_filter = ("currency", "active")
    search_fields = ("name", "code")


@admin.register(AddOn)
class AddOnAdmin(CsvImportMixin, CsvExportMixin, admin.ModelAdmin):
    list_display = ("name", "code", "monthly_price", "currency", "active")
    resource_classes = [AddOnResource]
    import_permission = "exchanges.import_catalogue"
    export_permission = "exchanges.export_catalogue"
    list_filter = ("currency", "active")
    search_fields = ("name", "code")


@admin.register(AccountAddOn)
class AccountAddOnAdmin(admin.ModelAdmin):
    list_display = ("account", "addon", "started_at", "cancelled_at")
    list_filter = ("addon",)
    list_select_related = ("account", "addon")
    raw_id_fields = ("account",)
    search_fields = ("=account__username",)
    show_full_result_count = False


# --- cards -----------------------------------------------------------------------------------


class CardAddForm(forms.ModelForm):
    """Staff paste the token from the gateway's card form; the gateway gives the rest."""

    class Meta:
        model = Card
        fields = ("account", "token", "exp_month", "exp_year")

    exp_month = forms.IntegerField(
        label=gettext_lazy("Expiry month"), min_value=1, max_value=12, required=False
    )
    exp_year = forms.IntegerField(
        label=gettext_lazy("Expiry year"), min_value=2000, max_value=2100, required=False
    )

    def clean(self):
        data = super().clean()
        if "token" in data:
            data["token"] = data["token"].strip()
            try:
                card_check(
                    token=data["token"],
                    exp_month=data.get("exp_month"),
                    exp_year=data.get("exp_year"),
                )
            except BillingError as exc:
                self.add_error("token", str(exc))
        return data


class BillingProfileAddForm(forms.ModelForm):
    """A new profile: the service's refusals show beside the form, before anything is saved."""

    class Meta:
        model = BillingProfile
        fields = ("account", "plan", "mode", "prepaid_months")

    def clean(self):
        data = super().clean()
        if data.get("account") and data.get("plan") and data.get("mode"):
            try:
                billing_profile_check(
                    account=data["account"],
                    plan_code=data["plan"].code,
                    mode=data["mode"],
                    prepaid_months=data.get("prepaid_months") or 0,
                )
            except BillingError as exc:
                raise forms.ValidationError(str(exc)) from None
        return data


@admin.register(Card)
class CardAdmin(admin.ModelAdmin):
    list_display = ("account", "brand", "last4", "exp_month", "exp_year", "added_at")
    list_select_related = ("account",)
    raw_id_fields = ("account",)
    search_fields = ("=account__username", "=last4")
    readonly_fields = ("brand", "last4", "added_at")
    show_full_result_count = False

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = CardAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("account", "token", "exp_month", "exp_year")
        return ("account", "brand", "last4", "exp_month", "exp_year", "added_at")

    def get_readonly_fields(self, request, obj=None):
        return ("account", "brand", "last4", "added_at") if obj else ()

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        try:
            card = card_attach(
                account=form.cleaned_data["account"],
                token=form.cleaned_data["token"],
                exp_month=form.cleaned_data.get("exp_month"),
                exp_year=form.cleaned_data.get("exp_year"),
                by=Actor.staff(request.user),
                now=timezone.now(),
            )
        except BillingError as exc:
            raise PermissionDenied(str(exc)) from None
        obj.pk, obj._state.adding = card.pk, False


# --- profiles --------------------------------------------------------------------------------


@admin.register(BillingProfile)
class BillingProfileAdmin(admin.ModelAdmin):
    list_display = (
        "account",
        "plan",
        "mode",
        "next_billing_date",
        "prepaid_balance",
        "account_status",
        "days_unpaid",
        "cancels_on",
    )
    list_filter = (
        SuspendedDaysUnpaidFilter,
        CancelsWithinSevenDaysFilter,
        PrepaidBelowOneMonthFilter,
        "mode",
        "plan",
    )
    list_select_related = ("account", "plan")
    raw_id_fields = ("account",)
    search_fields = ("=account__username", "=account__primary_email")
    readonly_fields = (
        "next_billing_date",
        "cancel_without_next_charge_until",
        "prepaid_balance",
        "card_declines",
        "unpaid_since",
        "unpaid_reason",
        "suspended_at",
        "notice_sent_at",
    )
    fields = ("account", "plan", "mode", "prepaid_months", "auto_renew", *readonly_fields)
    actions = ("record_payment", "retry_card")
    show_full_result_count = False
    # No COUNT over every profile on each page view.
    paginator = EstimatedCountPaginator

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = BillingProfileAddForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else ()

    def get_fields(self, request, obj=None):
        return self.fields if obj else ("account", "plan", "mode", "prepaid_months")

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        # A new profile goes through the service, which sets the first billing date.
        try:
            profile = billing_profile_open(
                account=obj.account,
                plan_code=obj.plan.code if obj.plan_id else "",
                mode=obj.mode,
                prepaid_months=obj.prepaid_months,
                by=Actor.staff(request.user),
                now=timezone.now(),
            )
        except BillingError as exc:
            raise PermissionDenied(str(exc)) from None
        obj.pk, obj._state.adding = profile.pk, False

    @admin.display(description=gettext_lazy("status"), ordering="account__status")
    def account_status(self, obj: BillingProfile) -> str:
        return obj.account.get_status_display()

    @admin.display(description=gettext_lazy("days unpaid"))
    def days_unpaid(self, obj: BillingProfile):
        if obj.suspended_at is None:
            return "—"
        return days_between(obj.suspended_at, timezone.now(), obj.account.zone)

    @admin.display(description=gettext_lazy("cancelled on (unpaid)"))
    def cancels_on(self, obj: BillingProfile):
        # A day of the account's calendar: its zone says whose calendar.
        return local_day(selectors.unpaid_cancel_date(profile=obj), obj.account.zone)

    @admin.display(description=gettext_lazy("last moment to cancel without the next charge"))
    def cancel_without_next_charge_until(self, obj: BillingProfile) -> str:
        return _local(_cancellation_deadline(obj.account), obj.account)

    def has_record_payment_permission(self, request) -> bool:
        return request.user.has_perm("billing.record_payment")

    def has_retry_card_permission(self, request) -> bool:
        return request.user.has_perm("billing.retry_card")

    @admin.action(
        description=gettext_lazy("Record payment (reactivates a suspended account)"),
        permissions=["record_payment"],
    )
    def record_payment(self, request, queryset: QuerySet[BillingProfile]):
        by, now = Actor.staff(request.user), timezone.now()

        def apply(profile, data):
            entry = payment_record(account=profile.account, by=by, now=now, **data)
            profile.account.refresh_from_db()
            return _("payment of %(amount)s %(currency)s recorded; the account is %(status)s") % {
                "amount": entry.amount,
                "currency": entry.currency,
                "status": profile.account.get_status_display().lower(),
            }

        return _action_form(
            self,
            request,
            queryset.select_related("account"),
            form_class=PaymentForm,
            title=_("Record a payment"),
            action="record_payment",
            apply=apply,
        )

    @admin.action(description=gettext_lazy("Retry card now"), permissions=["retry_card"])
    def retry_card(self, request, queryset: QuerySet[BillingProfile]):
        by, now = Actor.staff(request.user), timezone.now()
        done = refused = 0
        for profile in queryset.select_related("account"):
            try:
                result = card_retry_now(account=profile.account, by=by, now=now)
            except BillingError as exc:
                refused += 1
                self.message_user(request, f"{profile.account}: {exc}", messages.ERROR)
            else:
                done += 1
                self.message_user(request, f"{profile.account}: {result}", messages.SUCCESS)
        _report_counts(self, request, _("Retry card now"), done, refused)


# --- the ledger and card attempts: read-only for everyone (R12) ------------------------------


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(StreamingExportMixin, ReadOnlyAdmin):
    list_display = ("at", "account", "kind", "amount", "currency", "period", "by", "description")
    list_filter = ("kind", "currency")
    list_select_related = ("account", "by_user")
    search_fields = ("=account__username", "=reference")
    date_hierarchy = "at"
    actions = ("refund_charge",)
    show_full_result_count = False
    paginator = EstimatedCountPaginator
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

        return _action_form(
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
    show_full_result_count = False


# --- on the account page ---------------------------------------------------------------------


class BillingProfileInline(admin.StackedInline):
    model = BillingProfile
    fields = (
        "plan",
        "mode",
        "prepaid_months",
        "auto_renew",
        "next_billing_date",
        "cancel_without_next_charge_until",
        "prepaid_balance",
        "unpaid_since",
        "unpaid_reason",
        "suspended_at",
    )
    readonly_fields = fields[4:]
    can_delete = False
    extra = 0

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # a profile is opened under "Billing profiles" → Add (sets its dates)

    @admin.display(description=gettext_lazy("last moment to cancel without the next charge"))
    def cancel_without_next_charge_until(self, obj: BillingProfile) -> str:
        if obj is None or obj.pk is None:
            return "—"
        return _local(_cancellation_deadline(obj.account), obj.account)


class CardInline(admin.TabularInline):
    model = Card
    fields = ("brand", "last4", "exp_month", "exp_year", "added_at")
    readonly_fields = fields
    can_delete = False
    extra = 0

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # a card comes from the gateway's token: "Cards on file" → Add


def _contribute_account_inlines() -> None:
    """The account page belongs to accounts' admin; billing adds its two inlines to it."""
    account_admin = admin.site._registry.get(Account)
    if account_admin is None:
        return
    for inline in (BillingProfileInline, CardInline):
        if inline not in account_admin.inlines:
            account_admin.inlines = [*account_admin.inlines, inline]


_contribute_account_inlines()
