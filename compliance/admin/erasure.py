"""Erasure requests (GDPR Art. 17) in the admin: one Compliance officer records a request, a
second one signs it off, and only then is it carried out (workflows.erasure); either may
withdraw it while it waits. Requests are never edited or deleted."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from compliance.forms import ConfirmForm, ErasureRequestForm
from compliance.models import ErasureRequest, ErasureStatus
from compliance.services.erasure import ErasureRefused, erasure_request_withdraw
from core.actors import Actor
from core.admin import ServiceFormAdmin, action_form
from workflows.erasure import erasure_sign_off


@admin.register(ErasureRequest)
class ErasureRequestAdmin(ServiceFormAdmin):
    add_form = ErasureRequestForm
    list_display = (
        "id",
        "status",
        "scope",
        "address",
        "reference",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
        "carried_out_at",
        "erased",
    )
    list_filter = ("status",)
    search_fields = ("=sha256", "=md5", "reference")
    search_help_text = gettext_lazy("A reference, or the SHA-256 or MD5 of a normalised address")
    list_select_related = ("account", "requested_by", "decided_by")
    actions = ["sign_off", "withdraw"]
    readonly_fields = (
        "status",
        "scope",
        "address",
        "normalised",
        "sha256",
        "md5",
        "reference",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
        "carried_out_at",
        "erased",
    )

    @admin.display(description=gettext_lazy("account"))
    def scope(self, obj):
        return obj.account.username if obj.account_id else _("every account")

    @admin.display(description=gettext_lazy("what was erased"))
    def erased(self, obj):
        return ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in sorted(obj.counts.items()))

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["address", "account_username", "reference"]
        return list(self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_sign_off_permission(self, request) -> bool:
        return request.user.has_perm("compliance.approve_erasurerequest")

    def has_withdraw_permission(self, request) -> bool:
        return request.user.has_perm("compliance.add_erasurerequest")

    def _confirmed(self, request, queryset, *, action: str, title: str, run: Callable):
        # Only requests still waiting are signed off or withdrawn; all of them or none.
        by, now = Actor.staff(request.user), timezone.now()

        def apply(erasure: ErasureRequest, data: dict) -> str:
            run(request_id=erasure.pk, by=by, now=now)
            return _("done")

        return action_form(
            self,
            request,
            queryset.filter(status=ErasureStatus.REQUESTED),
            form_class=ConfirmForm,
            title=title,
            action=action,
            apply=apply,
            refusals=(ErasureRefused,),
        )

    @admin.action(
        description=gettext_lazy("Sign off and carry out (a second Compliance officer)"),
        permissions=["sign_off"],
    )
    def sign_off(self, request, queryset):
        return self._confirmed(
            request,
            queryset,
            action="sign_off",
            title=_("Sign off and carry out erasure requests"),
            run=erasure_sign_off,
        )

    @admin.action(
        description=gettext_lazy("Withdraw (nothing is erased)"), permissions=["withdraw"]
    )
    def withdraw(self, request, queryset):
        return self._confirmed(
            request,
            queryset,
            action="withdraw",
            title=_("Withdraw erasure requests"),
            run=erasure_request_withdraw,
        )
