"""The managed list of cancellation reasons and the list of cancellation requests."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.admin.common import confirmation_state
from accounts.admin.filters import ConfirmationOverdueFilter
from accounts.models import CancellationReason, CancellationRequest
from accounts.resources import CancellationReasonResource, CancellationRequestExport
from accounts.services import confirmation_send
from exchanges.admin import CsvExportMixin, CsvImportMixin, StreamingExportMixin


@admin.register(CancellationReason)
class CancellationReasonAdmin(CsvImportMixin, CsvExportMixin, admin.ModelAdmin):
    """Managers keep the list; a reason is retired, never deleted (old requests keep it)."""

    list_display = ("name", "active", "system", "created_at")
    list_filter = ("active",)
    fields = ("name", "active")
    search_fields = ("name",)
    actions = ["retire", "restore"]
    resource_classes = [CancellationReasonResource]
    import_permission = "exchanges.import_catalogue"
    export_permission = "exchanges.export_catalogue"

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.system:
            return False
        return super().has_change_permission(request, obj)

    @admin.action(description=gettext_lazy("Retire the selected reasons"), permissions=["change"])
    def retire(self, request, queryset):
        count = queryset.filter(system=False).update(active=False)
        messages.success(
            request, _("%(count)s reason(s) retired; old requests keep them.") % {"count": count}
        )

    @admin.action(
        description=gettext_lazy("Offer the selected reasons again"), permissions=["change"]
    )
    def restore(self, request, queryset):
        count = queryset.filter(system=False).update(active=True)
        messages.success(request, _("%(count)s reason(s) offered again.") % {"count": count})


@admin.register(CancellationRequest)
class CancellationRequestAdmin(StreamingExportMixin, admin.ModelAdmin):
    """Read-only: requests come from the desk and from the system; resending a due
    confirmation is the only action."""

    list_display = (
        "at",
        "account",
        "outcome",
        "reason",
        "voluntary",
        "pause_accepted",
        "in_time",
        "next_billing_date",
        "by",
        "confirmation",
    )
    list_filter = (
        ConfirmationOverdueFilter,
        "outcome",
        "voluntary",
        "pause_accepted",
        "in_time",
        "reason",
    )
    list_select_related = ("account", "reason", "taken_by")
    search_fields = ("^account__username", "^account__primary_email")
    date_hierarchy = "at"
    actions = ["send_confirmation_now"]
    streaming_export = CancellationRequestExport
    streaming_export_permission = "exchanges.export_cancellation_requests"
    show_full_result_count = False
    readonly_fields = (
        "account",
        "at",
        "outcome",
        "reason",
        "callers_words",
        "by",
        "voluntary",
        "pause_offered",
        "pause_accepted",
        "next_billing_date",
        "in_time",
        "confirmation",
        "confirmation_sent_at",
        "confirmation_attempts",
        "confirmation_last_error",
    )
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_resend_permission(self, request):
        return request.user.has_perm("accounts.add_cancellationrequest")

    @admin.display(description=gettext_lazy("confirmation (R4)"))
    def confirmation(self, obj):
        return confirmation_state(obj)

    @admin.action(
        description=gettext_lazy("Send the confirmation now (if unsent)"), permissions=["resend"]
    )
    def send_confirmation_now(self, request, queryset):
        outcomes = {"sent": 0, "failed": 0, "skipped": 0}
        for pk in queryset.filter(confirmation_sent_at__isnull=True).values_list("pk", flat=True):
            outcomes[confirmation_send(request_id=pk, as_of=timezone.now())] += 1
        level = messages.WARNING if outcomes["failed"] else messages.SUCCESS
        messages.add_message(
            request,
            level,
            _(
                "%(sent)s sent, %(failed)s failed (retried by the job), %(skipped)s already "
                "being sent or sent."
            )
            % outcomes,
        )
