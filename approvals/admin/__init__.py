"""Sign-offs in the admin: the requests a staff member may decide (the kinds their role may
ask for) and their own, with where each stands; approving or rejecting selected requests is
one workflow or service call each, all or nothing. Requests are made where the action lives
(Retention, Opt-ins, Ledger); nobody adds, edits or deletes one here (R12)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from approvals.models import ApprovalRequest, ApprovalState
from approvals.selectors import approval_kinds_for, approvals_visible_to, approvals_with_state
from approvals.services import ApprovalError, approval_reject
from core.actors import Actor
from core.admin import ReadOnlyAdmin, action_form
from workflows.approvals import approval_approve


class ApproveForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"size": 80}),
        help_text=gettext_lazy("Optional: what you checked (the ticket, the document)"),
    )


class RejectForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("Why rejected"),
        max_length=500,
        widget=forms.TextInput(attrs={"size": 80}),
    )


class StateFilter(admin.SimpleListFilter):
    title = gettext_lazy("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return ApprovalState.choices

    def queryset(self, request, queryset):
        if self.value() in ApprovalState.values:
            return queryset.filter(state=self.value())
        return queryset


class MineFilter(admin.SimpleListFilter):
    title = gettext_lazy("whose")
    parameter_name = "whose"

    def lookups(self, request, model_admin):
        return [
            ("others", _("Asked for by others: mine to decide")),
            ("mine", _("Asked for by me")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "mine":
            return queryset.filter(by_user=request.user)
        if self.value() == "others":
            return queryset.exclude(by_user=request.user)
        return queryset


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnlyAdmin):
    """Requests for a second person's sign-off (four eyes) and their decisions."""

    list_display = (
        "id",
        "kind",
        "account",
        "summary",
        "reason",
        "requested_by",
        "requested_at",
        "expires_at",
        "state_shown",
        "decided",
    )
    list_display_links = ("id", "kind")
    list_filter = (StateFilter, MineFilter, "kind")
    search_fields = ("=account__username",)
    list_select_related = ("account", "by_user", "decision", "decision__by_user")
    actions = ("approve_requests", "reject_requests")
    fields = (
        "kind",
        "account",
        "summary",
        "reason",
        "requested_by",
        "requested_at",
        "expires_at",
        "state_shown",
        "decided",
        "decision_note",
        "result",
    )
    readonly_fields = fields

    def get_object(self, request, object_id, from_field=None):
        found = super().get_object(request, object_id, from_field)
        if found is None and str(object_id).isdigit():
            if ApprovalRequest.objects.filter(pk=int(object_id)).exists():
                # Another role's request: not theirs to see (rather than "perhaps deleted").
                raise PermissionDenied
        return found

    def get_queryset(self, request):
        qs = approvals_with_state(as_of=timezone.now())
        return approvals_visible_to(request.user, qs).select_related(
            "account", "by_user", "decision", "decision__by_user"
        )

    @admin.display(description=gettext_lazy("asked for by"), ordering="by_user__username")
    def requested_by(self, obj):
        return obj.by

    @admin.display(description=gettext_lazy("state"), ordering="state")
    def state_shown(self, obj):
        return ApprovalState(obj.state).label

    def _decision(self, obj):
        return getattr(obj, "decision", None)

    @admin.display(description=gettext_lazy("decided"))
    def decided(self, obj):
        decision = self._decision(obj)
        if decision is None:
            return "—"
        return f"{decision.by}, {decision.at:%Y-%m-%d %H:%M} UTC"

    @admin.display(description=gettext_lazy("note"))
    def decision_note(self, obj):
        decision = self._decision(obj)
        return decision.note if decision else "—"

    @admin.display(description=gettext_lazy("result"))
    def result(self, obj):
        decision = self._decision(obj)
        return decision.result if decision and decision.result else "—"

    def has_decide_permission(self, request) -> bool:
        return bool(approval_kinds_for(request.user))

    def _decide(self, request, queryset, *, approve: bool):
        by, now = Actor.staff(request.user), timezone.now()

        def apply(obj, data):
            if approve:
                approval_approve(request=obj, by=by, now=now, note=data.get("note", ""))
                return _("approved and done")
            approval_reject(request=obj, by=by, now=now, note=data["note"])
            return _("rejected")

        return action_form(
            self,
            request,
            queryset.order_by("pk"),
            form_class=ApproveForm if approve else RejectForm,
            title=_("Approve and do it") if approve else _("Reject"),
            action="approve_requests" if approve else "reject_requests",
            apply=apply,
            refusals=(ApprovalError,),
        )

    @admin.action(
        description=gettext_lazy("Approve the selected requests (and do what they ask)"),
        permissions=["decide"],
    )
    def approve_requests(self, request, queryset):
        return self._decide(request, queryset, approve=True)

    @admin.action(description=gettext_lazy("Reject the selected requests"), permissions=["decide"])
    def reject_requests(self, request, queryset):
        return self._decide(request, queryset, approve=False)
