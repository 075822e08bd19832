"""The managed list of cancellation reasons and the list of cancellation requests."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.admin.common import confirmation_state
from accounts.admin.filters import ConfirmationOverdueFilter
from accounts.models import CancellationReason, CancellationRequest
from accounts.resources import CancellationReasonResource, CancellationRequestExport
from accounts.services import ReasonError, confirmation_send, reason_save, reasons_set_active
from core.actors import Actor
from core.admin import ServiceForm, ServiceFormAdmin, WhenFilter, change_log_link
from core.paging import EstimatedCountPaginator
from exchanges.admin import CsvExportMixin, CsvImportMixin, StreamingExportMixin


class ReasonForm(ServiceForm):
    """A reason as managers enter it, with why it changes (the change log keeps it)."""

    refusals = (ReasonError,)
    why = forms.CharField(label=gettext_lazy("Reason for the change"), max_length=300)

    class Meta:
        model = CancellationReason
        fields = ("name", "active")

    def apply(self, data, *, by, now):
        return reason_save(
            name=data["name"],
            active=data["active"],
            reason=self.instance if self.instance.pk else None,
            by=by,
            now=now,
            why=data["why"],
        )


class ReasonsActiveForm(forms.Form):
    why = forms.CharField(label=gettext_lazy("Reason for the change"), max_length=300)


@admin.register(CancellationReason)
class CancellationReasonAdmin(CsvImportMixin, CsvExportMixin, ServiceFormAdmin):
    """Managers keep the list; a reason is retired, never deleted (old requests keep it)."""

    list_display = ("name", "active", "system", "created_at")
    list_filter = ("active",)
    search_fields = ("name",)
    actions = ["retire", "restore"]
    resource_classes = [CancellationReasonResource]
    import_permission = "exchanges.import_catalogue"
    export_permission = "exchanges.export_catalogue"
    add_form = ReasonForm
    change_form = ReasonForm

    def get_fields(self, request, obj=None):
        return ("name", "active", "why", "change_log") if obj else ("name", "active", "why")

    def get_readonly_fields(self, request, obj=None):
        return ("change_log",) if obj else ()

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.system:
            return False
        return super().has_change_permission(request, obj)

    @admin.display(description=gettext_lazy("history"))
    def change_log(self, obj):
        return change_log_link(obj)

    def _set_active(self, request, queryset, *, active: bool):
        by, now = Actor.staff(request.user), timezone.now()
        form = ReasonsActiveForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return TemplateResponse(
                request,
                "admin/action_form.html",
                {
                    **self.admin_site.each_context(request),
                    "title": _("Offer the selected reasons again")
                    if active
                    else _("Retire the selected reasons"),
                    "form": form,
                    "objects": queryset,
                    "action": "restore" if active else "retire",
                    "opts": self.model._meta,
                    "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                },
            )
        try:
            count = reasons_set_active(
                reasons=queryset, active=active, by=by, now=now, why=form.cleaned_data["why"]
            )
        except ReasonError as exc:
            messages.error(request, _("Nothing was changed: %(error)s.") % {"error": exc})
            return None
        if active:
            messages.success(request, _("%(count)s reason(s) offered again.") % {"count": count})
        else:
            messages.success(
                request,
                _("%(count)s reason(s) retired; old requests keep them.") % {"count": count},
            )
        return None

    @admin.action(description=gettext_lazy("Retire the selected reasons"), permissions=["change"])
    def retire(self, request, queryset):
        return self._set_active(request, queryset, active=False)

    @admin.action(
        description=gettext_lazy("Offer the selected reasons again"), permissions=["change"]
    )
    def restore(self, request, queryset):
        return self._set_active(request, queryset, active=True)


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
        WhenFilter,
        ConfirmationOverdueFilter,
        "outcome",
        "voluntary",
        "pause_accepted",
        "in_time",
        "reason",
    )
    list_select_related = ("account", "reason", "taken_by")
    search_fields = ("^account__username", "^account__primary_email")
    actions = ["send_confirmation_now"]
    streaming_export = CancellationRequestExport
    streaming_export_permission = "exchanges.export_cancellation_requests"
    show_full_result_count = False
    paginator = EstimatedCountPaginator
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
