"""Billing profiles in the admin: the questions staff ask (suspended, cancels soon, balance
low), opening and changing a profile through billing's workflows, and the money actions
(record payment, retry card), all or nothing over the selected rows."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Account
from accounts.services import LifecycleError
from billing import selectors
from billing.admin.actions import action_form
from billing.admin.display import NextChargeDisplay
from billing.models import BillingProfile
from billing.services import BillingError, card_retry_check
from billing.texts import next_billing_sentence, owed_sentence, payment_sentence
from core.actors import Actor
from core.admin import ServiceForm, ServiceFormAdmin
from core.localtime import local_day
from core.paging import KeysFirstPaginator
from workflows.billing_setup import billing_change, billing_open
from workflows.payments import card_retry_now, payment_record

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


# --- forms -----------------------------------------------------------------------------------


class BillingOpenForm(ServiceForm):
    """A new profile: the workflow sets the first billing date (and a trial becomes active)."""

    refusals = (BillingError, LifecycleError)

    class Meta:
        model = BillingProfile
        fields = ("account", "plan", "mode", "prepaid_months")

    def apply(self, data, *, by, now):
        return billing_open(
            account=data["account"],
            plan_code=data["plan"].code if data.get("plan") else "",
            mode=data["mode"],
            prepaid_months=data.get("prepaid_months") or 12,
            by=by,
            now=now,
        )


class BillingChangeForm(ServiceForm):
    """How the account pays, changed with a reason; the account a profile bills is fixed."""

    refusals = (BillingError,)
    reason = forms.CharField(
        label=gettext_lazy("Reason for the change"),
        max_length=300,
        help_text=gettext_lazy("Shown on the account's timeline."),
    )

    class Meta:
        model = BillingProfile
        fields = ("plan", "mode", "prepaid_months", "auto_renew")

    def apply(self, data, *, by, now):
        if data.get("plan") is None:
            raise BillingError(_("choose a plan"))
        billing_change(
            account=self.instance.account,
            plan_code=data["plan"].code,
            mode=data["mode"],
            prepaid_months=data["prepaid_months"],
            auto_renew=data["auto_renew"],
            by=by,
            now=now,
            reason=data["reason"],
        )
        return self.instance


class PaymentForm(forms.Form):
    amount = forms.CharField(
        label=gettext_lazy("Amount"),
        max_length=20,
        help_text=gettext_lazy("e.g. 540.00 or 540,00 (two decimals at most)"),
    )
    currency = forms.CharField(label=gettext_lazy("Currency"), max_length=3, initial="USD")
    reference = forms.CharField(
        label=gettext_lazy("Reference"),
        max_length=120,
        help_text=gettext_lazy("Bank transfer id, cheque number"),
    )


# --- the list and the page -------------------------------------------------------------------


@admin.register(BillingProfile)
class BillingProfileAdmin(NextChargeDisplay, ServiceFormAdmin):
    list_display = (
        "account",
        "plan",
        "mode",
        "next_billing_day",
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
        "account",
        "next_billing_day",
        "cancel_without_next_charge_until",
        "owed",
        "prepaid_balance",
        "card_declines",
        "unpaid_since",
        "unpaid_reason",
        "suspended_at",
        "notice_sent_at",
        "closed_at",
    )
    actions = ("record_payment", "retry_card")
    show_full_result_count = False
    # No COUNT over every profile on each page view; a page of a filter matching thousands
    # (suspended, days unpaid) read by its keys first.
    paginator = KeysFirstPaginator
    add_form = BillingOpenForm
    change_form = BillingChangeForm

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else ()

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("account", "plan", "mode", "prepaid_months")
        return ("plan", "mode", "prepaid_months", "auto_renew", "reason", *self.readonly_fields)

    @admin.display(description=gettext_lazy("status"), ordering="account__status")
    def account_status(self, obj: BillingProfile) -> str:
        return obj.account.get_status_display()

    @admin.display(description=gettext_lazy("days unpaid"))
    def days_unpaid(self, obj: BillingProfile):
        days = selectors.days_unpaid(profile=obj, as_of=timezone.now())
        return "—" if days is None else days

    @admin.display(description=gettext_lazy("cancelled on (unpaid)"))
    def cancels_on(self, obj: BillingProfile):
        # A day of the account's calendar: its zone says whose calendar.
        return local_day(selectors.unpaid_cancel_date(profile=obj), obj.account.zone)

    # --- the payment desk: what is owed, and recording a payment against it ------------------

    change_form_template = "admin/billing/billingprofile/change_form.html"

    def get_urls(self):
        desk = path(
            "<path:object_id>/payment/",
            self.admin_site.admin_view(self.payment_desk),
            name="billing_billingprofile_payment",
        )
        return [desk, *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        if self.has_record_payment_permission(request):
            extra_context["payment_desk_url"] = reverse(
                "admin:billing_billingprofile_payment", args=[object_id]
            )
        profile = self.get_object(request, object_id)
        if profile is not None and request.user.has_perm("billing.view_ledgerentry"):
            # The account's ledger with its running balance (billing.selectors.LEDGER_SIGNS).
            extra_context["ledger_url"] = (
                f"{reverse('admin:billing_ledgerentry_changelist')}?account={profile.account_id}"
            )
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description=gettext_lazy("owed"))
    def owed(self, obj: BillingProfile) -> str:
        return owed_sentence(obj)

    def payment_desk(self, request, object_id):
        profile = self.get_object(request, object_id)
        if profile is None:
            raise Http404(_("No such billing profile."))
        if not self.has_record_payment_permission(request):
            raise PermissionDenied
        account = profile.account
        currency = profile.plan.currency if profile.plan else ""
        form = PaymentForm(request.POST or None, initial={"currency": currency})
        change_url = reverse("admin:billing_billingprofile_change", args=[profile.pk])
        if request.method == "POST" and form.is_valid():
            try:
                entry = payment_record(
                    account=account,
                    by=Actor.staff(request.user),
                    now=timezone.now(),
                    **form.cleaned_data,
                )
            except (BillingError, LifecycleError) as exc:
                form.add_error(None, str(exc))
            else:
                account.refresh_from_db()
                messages.success(request, payment_sentence(entry, account))
                return redirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Record a payment: %(username)s") % {"username": account.username},
            "profile": profile,
            "owed": owed_sentence(profile),
            "next_billing": next_billing_sentence(account),
            "form": form,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/billing/billingprofile/payment.html", context)

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
            account: Account = profile.account
            entry = payment_record(account=account, by=by, now=now, **data)
            return _("payment of %(amount)s %(currency)s recorded; the account is %(status)s") % {
                "amount": entry.amount,
                "currency": entry.currency,
                "status": account.get_status_display().lower(),
            }

        return action_form(
            self,
            request,
            queryset.select_related("account"),
            form_class=PaymentForm,
            title=_("Record a payment"),
            action="record_payment",
            apply=apply,
            refusals=(BillingError, LifecycleError),
        )

    @admin.action(description=gettext_lazy("Retry card now"), permissions=["retry_card"])
    def retry_card(self, request, queryset: QuerySet[BillingProfile]):
        """Each selected account's card is checked first (nothing owed, no valid card, a charge
        already at the gateway refuse the whole action); then each is charged on its own, with
        no transaction held across the gateway's answer (a charge cannot be rolled back)."""
        by, now = Actor.staff(request.user), timezone.now()
        profiles = list(queryset.select_related("account"))
        form = forms.Form(request.POST if "apply" in request.POST else None)
        if not form.is_bound:
            return action_form(
                self,
                request,
                queryset.select_related("account"),
                form_class=forms.Form,
                title=_("Retry card now"),
                action="retry_card",
                apply=lambda profile, data: "",
            )
        for profile in profiles:
            try:
                card_retry_check(account=profile.account, by=by, now=now)
            except BillingError as exc:
                self.message_user(
                    request,
                    _("Nothing was changed: %(row)s: %(error)s") % {"row": profile, "error": exc},
                    messages.ERROR,
                )
                return None
        for profile in profiles:
            try:
                result = card_retry_now(account=profile.account, by=by, now=now)
            except (BillingError, LifecycleError) as exc:
                self.message_user(request, f"{profile}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{profile}: {result}", messages.SUCCESS)
        return None
