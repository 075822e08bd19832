"""Two-factor devices in the admin, for superusers: who enrolled an authenticator app, when it
was last used, how many recovery codes are left, and the reset after a lost phone (the person
enrols again at their next login; the change log says who reset whose and why). Keys and
recovery codes are never shown, and nobody adds or edits a device here: staff enrol
themselves under *Two-factor login*."""

from __future__ import annotations

import axes.admin  # noqa: F401  (registers the admin this module mends)
import django_celery_beat.admin  # noqa: F401
from axes.models import AccessAttempt
from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_celery_beat.admin import PeriodicTaskForm
from django_celery_beat.models import PeriodicTask
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from backoffice.twofactor import second_factor_reset
from core.actors import Actor
from core.admin import ReadOnlyAdmin, action_form
from core.services import change_record
from core.validators import no_control_characters

for model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


class ResetForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=300,
        help_text=gettext_lazy("E.g. 'lost phone, identity checked by the team lead'"),
    )


@admin.register(TOTPDevice)
class TwoFactorDeviceAdmin(ReadOnlyAdmin):
    list_display = ("user", "confirmed", "created_at", "last_used_at", "recovery_codes_left")
    list_filter = ("confirmed",)
    search_fields = ("user__username",)
    list_select_related = ("user",)
    fields = ("user", "name", "confirmed", "created_at", "last_used_at")
    readonly_fields = fields
    actions = ("reset_two_factor",)

    @admin.display(description=gettext_lazy("recovery codes left"))
    def recovery_codes_left(self, obj):
        return StaticToken.objects.filter(device__user_id=obj.user_id).count()

    def has_reset_permission(self, request) -> bool:
        return request.user.is_superuser

    @admin.action(
        description=gettext_lazy("Reset two-factor login (they enrol again at next login)"),
        permissions=["reset"],
    )
    def reset_two_factor(self, request, queryset):
        by, now = Actor.staff(request.user), timezone.now()

        def apply(device, data):
            user = device.user
            with transaction.atomic():
                second_factor_reset(user)
                change_record(
                    entry=user,
                    action="changed",
                    changes=[["two-factor login", "enrolled", "reset"]],
                    reason=data["reason"],
                    by=by,
                    now=now,
                )
            return _("reset: enrols again at the next login")

        return action_form(
            self,
            request,
            queryset.select_related("user").order_by("pk"),
            form_class=ResetForm,
            title=_("Reset two-factor login"),
            action="reset_two_factor",
            apply=apply,
            refusals=(),
        )


# --- Other apps' admins, mended where bad input crashed them (issue 12) ----------------------


class ScheduleForm(PeriodicTaskForm):
    """Beat's schedule form, whose check reads the task name even when the task box was
    refused on its own (a NUL byte, too long) and crashed on it: that error is shown instead.
    Its task picker takes any name (a task may be known to a worker only), but not one with a
    control character, which the database cannot store or a person read."""

    def clean(self):
        regtask = self.cleaned_data.get("regtask") or ""
        try:
            no_control_characters(regtask)
        except ValidationError as exc:
            self.add_error("regtask", exc)
            return self.cleaned_data
        if "task" not in self.cleaned_data and not regtask:
            return self.cleaned_data
        return super().clean()


class ScheduleAdmin(type(admin.site._registry[PeriodicTask])):  # type: ignore[misc]
    form = ScheduleForm


class LoginAttemptAdmin(type(admin.site._registry[AccessAttempt])):  # type: ignore[misc]
    """axes' list of login attempts, whose clean-up action read a time axes sets only on a
    login (it crashed when run from the list): the clean-up counts from now."""

    @admin.action(description=gettext_lazy("Clean up expired attempts"))
    def cleanup_expired_attempts(self, request, queryset):
        request.axes_attempt_time = timezone.now()
        return super().cleanup_expired_attempts(request, queryset)


for model, model_admin in ((PeriodicTask, ScheduleAdmin), (AccessAttempt, LoginAttemptAdmin)):
    admin.site.unregister(model)
    admin.site.register(model, model_admin)
