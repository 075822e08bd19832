"""API keys in the admin: made (the key shown once) and revoked through their services, each
on the change log (R12); never edited or deleted."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from api.forms import ApiKeyForm, RevokeForm
from api.models import ApiKey
from api.services import ApiKeyRefused, api_key_revoke
from core.actors import Actor
from core.admin import ServiceFormAdmin, action_form, change_log_link


class ActiveFilter(admin.SimpleListFilter):
    title = gettext_lazy("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", _("Active")), ("revoked", _("Revoked"))]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(ServiceFormAdmin):
    add_form = ApiKeyForm
    list_display = (
        "integration",
        "prefix",
        "scope_list",
        "is_active",
        "last_used_at",
        "created_at",
        "created_by",
        "revoked_at",
        "revoked_by",
    )
    list_filter = (ActiveFilter, "can_check", "can_record")
    search_fields = ("integration", "=prefix")
    list_select_related = ("created_by", "revoked_by")
    actions = ["revoke"]
    readonly_fields = (
        "integration",
        "description",
        "prefix",
        "can_check",
        "can_record",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked_at",
        "revoked_by",
        "change_log",
    )

    @admin.display(description=gettext_lazy("scopes"))
    def scope_list(self, obj):
        return ", ".join(obj.scopes)

    @admin.display(description=gettext_lazy("active"), boolean=True)
    def is_active(self, obj):
        return obj.active

    @admin.display(description=gettext_lazy("change log"))
    def change_log(self, obj):
        return change_log_link(obj)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["integration", "description", "can_check", "can_record"]
        return list(self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def response_add(self, request, obj, post_url_continue=None):
        form = getattr(request, "_api_key_form", None)
        if form is not None:
            self.message_user(
                request,
                _("The key of %(integration)s, shown this once (only its hash is kept): %(key)s")
                % {"integration": obj.integration, "key": form.presented},
                messages.WARNING,
            )
        return super().response_add(request, obj, post_url_continue)

    def save_model(self, request, obj, form, change) -> None:
        request._api_key_form = form
        super().save_model(request, obj, form, change)

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm("api.revoke_apikey")

    @admin.action(
        description=gettext_lazy("Revoke the key (it answers 401 from now on)"),
        permissions=["revoke"],
    )
    def revoke(self, request, queryset):
        by, now = Actor.staff(request.user), timezone.now()

        def apply(key: ApiKey, data: dict) -> str:
            revoked = api_key_revoke(key=key, reason=data["reason"], by=by, now=now)
            return _("revoked") if revoked else _("was revoked already")

        return action_form(
            self,
            request,
            queryset,
            form_class=RevokeForm,
            title=_("Revoke API keys"),
            action="revoke",
            apply=apply,
            refusals=(ApiKeyRefused,),
        )
