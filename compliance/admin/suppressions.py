"""Suppressions and opt-ins in the admin (R9): records nobody edits or deletes (R12); an
opt-in entered by staff is asked for with its evidence and recorded through its service once a
second person signs it off (``workflows.compliance_signoffs``)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from compliance.addresses import InvalidAddress, address_key, is_hashed
from compliance.forms import (
    OptInForm,
)
from compliance.models import (
    FIXED_REASON,
    RARE_REASONS,
    OptIn,
    OptInConfirmation,
    Suppression,
    SuppressionReason,
    SuppressionSource,
)
from compliance.selectors import (
    ACCOUNT_KEY_ORDER,
    in_force_at,
    suppressions_lifted,
    suppressions_of_reason,
    suppressions_of_source,
)
from core.actors import Actor
from core.admin import ReadOnlyAdmin, exact_match

# What a list read in its index's order says of that order (the page's subtitle): the
# admin's column headers show only an order the staff chose.
NEWEST_BY_DATE = gettext_lazy("Newest first by date")
BY_ACCOUNT_KEY = gettext_lazy("By account, then address (A to Z) and date")
ACCOUNT_BY_KEY = gettext_lazy("The account's entries by address (A to Z), then date")


def list_order_note(request, note) -> None:
    """Say on the page which order the list is read in (the last order set wins, as the
    queryset's own ordering does)."""
    request.suppression_list_order = note


class InForceFilter(admin.SimpleListFilter):
    """Whether a suppression event is in force now (R9: no opt-in of the address since)."""

    title = gettext_lazy("in force now (R9)")
    parameter_name = "in_force"

    def lookups(self, request, model_admin):
        return [("yes", _("in force")), ("no", _("lifted by a later opt-in"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(in_force_at(timezone.now()))
        if self.value() == "no":
            list_order_note(request, BY_ACCOUNT_KEY)
            return suppressions_lifted(queryset, at=timezone.now())
        return queryset


class ReasonFilter(admin.SimpleListFilter):
    """A reason's list through its index (``suppressions_of_reason``); the parameter is the
    one Django's own filter of the field used, so links to it keep working."""

    title = gettext_lazy("reason")
    parameter_name = "reason__exact"

    def lookups(self, request, model_admin):
        return SuppressionReason.choices

    def queryset(self, request, queryset):
        if self.value() not in SuppressionReason.values:
            return queryset
        if self.value() in RARE_REASONS:
            list_order_note(request, NEWEST_BY_DATE)
        return suppressions_of_reason(queryset, reason=self.value())


class SourceFilter(admin.SimpleListFilter):
    """A source's list through an index that holds it (``suppressions_of_source``)."""

    title = gettext_lazy("source")
    parameter_name = "source__exact"

    def lookups(self, request, model_admin):
        return SuppressionSource.choices

    def queryset(self, request, queryset):
        if self.value() not in SuppressionSource.values:
            return queryset
        if FIXED_REASON.get(SuppressionSource(self.value())) in RARE_REASONS:
            list_order_note(request, NEWEST_BY_DATE)
        return suppressions_of_source(queryset, source=self.value())


class SuppressionListAdmin(ReadOnlyAdmin):
    """A list of suppressions read in the order of the index that holds it, which the page
    names. Searched by an account's username, it shows that account's suppressions in the
    order of its key index (by address, then date): newest first, PostgreSQL would walk the
    ids of the whole history for the rows of a big account."""

    # The address as received is read through the model (Suppression.address): the row keeps
    # it only where it is not its key, and the page shows it either way.
    fields = (
        "account",
        "address",
        "normalised",
        "source",
        "reason",
        "at",
        "evidence",
        "imported_in",
        "by_user",
        "by_job",
    )
    readonly_fields = fields

    @admin.display(description=gettext_lazy("address"))
    def address(self, obj):
        return obj.address

    def account_search(self, request, queryset, term: str):
        """`queryset` narrowed to the account(s) whose username is `term`, in key order."""
        list_order_note(request, ACCOUNT_BY_KEY)
        found = exact_match(queryset.model, "account__username", term)
        return queryset.filter(found).order_by(*ACCOUNT_KEY_ORDER), False

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        note = getattr(request, "suppression_list_order", None)
        if context is not None and note is not None:
            context["subtitle"] = note
        return response


@admin.register(Suppression)
class SuppressionAdmin(SuppressionListAdmin):
    list_display = ("normalised", "address", "account", "reason", "source", "at", "by")
    list_filter = (ReasonFilter, SourceFilter, InForceFilter)
    search_fields = ("=normalised", "=account__username")
    search_help_text = gettext_lazy(
        "An address (matched on its normalised form) or an account's username"
    )
    list_select_related = ("account", "by_user")
    date_hierarchy = None

    def get_search_results(self, request, queryset, search_term):
        # Staff paste addresses as they got them; the key is the normalised form. An address
        # is looked up on its own index (across every account: "is this person suppressed
        # anywhere?"); anything else is an account's username, but an erased key (it holds
        # no "@"), which is looked up as either.
        term = search_term.strip()
        if "@" in term:
            try:
                return queryset.filter(normalised=address_key(term)), False
            except InvalidAddress:
                pass
        elif term and not is_hashed(term.lower()):
            return self.account_search(request, queryset, term)
        return super().get_search_results(request, queryset, search_term)


@admin.register(OptIn)
class OptInAdmin(ReadOnlyAdmin):
    """Opt-ins lift suppressions; they are added with their evidence, never changed."""

    form = OptInForm
    list_display = ("normalised", "account", "method", "at", "origin", "by")
    list_filter = ("method",)
    search_fields = ("=normalised", "=account__username")
    list_select_related = ("account", "by_user")

    def has_add_permission(self, request, obj=None):
        return request.user.has_perm("compliance.add_optin")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["account_username", "address", "at", "method", "origin", "evidence", "reason"]
        return [
            "account",
            "address",
            "normalised",
            "at",
            "method",
            "origin",
            "evidence",
            "recorded_at",
            "by",
        ]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj) if obj is not None else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        # The staff member records the opt-in through the service (ServiceForm).
        setattr(form, "actor", Actor.staff(request.user))  # noqa: B010
        return form

    def save_model(self, request, obj, form, change):
        # Nothing is recorded yet: the form asked for a second person's sign-off.
        request.signoff_asked = form.applied

    def log_addition(self, request, obj, message):
        # The request is the record (and on the account's timeline); no opt-in exists yet.
        return None

    def response_add(self, request, obj, post_url_continue=None):
        signoff = request.signoff_asked
        self.message_user(
            request,
            _(
                "Opt-in asked for (sign-off #%(id)s): another compliance officer checks the "
                "evidence and signs it off under Sign-offs; until then the address stays "
                "suppressed."
            )
            % {"id": signoff.pk},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(
            reverse("admin:approvals_approvalrequest_change", args=[signoff.pk])
        )


class ConfirmationStateFilter(admin.SimpleListFilter):
    title = gettext_lazy("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [
            ("confirmed", _("Confirmed")),
            ("waiting", _("Mailed, waiting for the click")),
            ("unsent", _("Mail not sent")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "confirmed":
            return queryset.filter(confirmed_at__isnull=False)
        if self.value() == "waiting":
            return queryset.filter(confirmed_at__isnull=True, mail_sent_at__isnull=False)
        if self.value() == "unsent":
            return queryset.filter(confirmed_at__isnull=True, mail_sent_at__isnull=True)
        return queryset


@admin.register(OptInConfirmation)
class OptInConfirmationAdmin(ReadOnlyAdmin):
    """Double opt-ins: sign-ups of unsubscribed addresses, their mail and their click (R9)."""

    list_display = (
        "normalised",
        "account",
        "form_name",
        "posted_at",
        "posted_ip",
        "mail_sent_at",
        "confirmed_at",
        "confirmed_ip",
        "optin",
    )
    list_filter = (ConfirmationStateFilter,)
    search_fields = ("=normalised", "=account__username")
    search_help_text = gettext_lazy(
        "An address (matched on its normalised form) or an account's username"
    )
    list_select_related = ("account", "optin")
    fields = (
        "account",
        "address",
        "normalised",
        "form_name",
        "form_key",
        "posted_at",
        "posted_ip",
        "mail_sent_at",
        "mail_error",
        "confirmed_at",
        "confirmed_ip",
        "optin",
    )
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if "@" in term:
            try:
                return queryset.filter(normalised=address_key(term)), False
            except InvalidAddress:
                pass
        return super().get_search_results(request, queryset, search_term)
