"""Spam complaints for compliance review: each complaint a mail provider reported (it is also
a suppression, reason "complaint"), newest first, by provider and account."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from compliance.admin.suppressions import NEWEST_BY_DATE, SuppressionListAdmin, list_order_note
from compliance.models import API_REPORT_ORIGIN, Complaint, SuppressionReason
from compliance.selectors import suppressions_of_reason, suppressions_reported_by


class ReceivedFilter(admin.SimpleListFilter):
    title = gettext_lazy("received")
    parameter_name = "received"

    def lookups(self, request, model_admin):
        return [("7d", _("in the last 7 days")), ("30d", _("in the last 30 days"))]

    def queryset(self, request, queryset):
        days = {"7d": 7, "30d": 30}.get(self.value() or "")
        if days is None:
            return queryset
        return queryset.filter(at__gte=timezone.now() - timedelta(days=days))


class ProviderFilter(admin.SimpleListFilter):
    title = gettext_lazy("reported by")
    parameter_name = "provider"

    def lookups(self, request, model_admin):
        return [
            ("webhook amazon_ses", "Amazon SES"),
            ("webhook sendgrid", "SendGrid"),
            ("webhook postmark", "Postmark"),
            ("webhook mailgun", "Mailgun"),
            ("api", _("Sending platform")),
        ]

    def queryset(self, request, queryset):
        # Found from the provider's reports (each complaint it reported has one), not by a
        # walk of every complaint for its job's name.
        if self.value() == "api":
            queryset = queryset.filter(by_job__startswith="api ")
            return suppressions_reported_by(queryset, origin=API_REPORT_ORIGIN)
        if self.value() in {value for value, _label in self.lookup_choices}:
            queryset = queryset.filter(by_job=self.value())
            return suppressions_reported_by(queryset, origin=self.value().removeprefix("webhook "))
        return queryset


@admin.register(Complaint)
class ComplaintAdmin(SuppressionListAdmin):
    """Complaints are suppressions already; this list is where compliance reviews which
    accounts draw them: newest first by date (the complaints' range of the reason index), an
    account's by address (its key index)."""

    list_display = ("at", "account", "account_status", "normalised", "by", "evidence_start")
    list_filter = (ReceivedFilter, ProviderFilter)
    search_fields = ("=account__username",)
    search_help_text = gettext_lazy("An account's username")
    list_select_related = ("account", "by_user")

    def get_queryset(self, request):
        list_order_note(request, NEWEST_BY_DATE)
        complaints = super().get_queryset(request)
        return suppressions_of_reason(complaints, reason=SuppressionReason.COMPLAINT)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return self.account_search(request, queryset, term)

    @admin.display(description=gettext_lazy("account state"))
    def account_status(self, obj):
        return obj.account.get_status_display()

    @admin.display(description=gettext_lazy("the provider's event"))
    def evidence_start(self, obj):
        return obj.evidence[:160]
