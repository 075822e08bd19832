"""Read-only inlines on the account page: requests, content, the timeline."""

from __future__ import annotations

from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.admin.common import confirmation_state
from accounts.models import (
    AccountEvent,
    CancellationRequest,
    HostedFile,
    Integration,
    SignupForm,
)
from core.admin import ReadOnlyInline

# The account page shows the latest events only: an account can have thousands, and the
# page must stay fast; the whole timeline is the event list filtered by the account.
TIMELINE_LATEST = 50


class LatestEventsFormSet(BaseInlineFormSet):
    def get_queryset(self):
        # Cached: the formset asks for its queryset once per form.
        if not hasattr(self, "_latest"):
            self._latest = super().get_queryset()[:TIMELINE_LATEST]
        return self._latest


class AccountEventInline(ReadOnlyInline):
    """The account's timeline: read-only (R12), the latest events."""

    model = AccountEvent
    formset = LatestEventsFormSet
    verbose_name_plural = _("timeline")
    fields = ("at", "kind", "from_status", "to_status", "by", "reason")
    readonly_fields = fields
    ordering = ("-at", "-id")

    def get_queryset(self, request):
        # The account too: each row names it (str of the event).
        return super().get_queryset(request).select_related("by_user", "account")


class CancellationRequestInline(ReadOnlyInline):
    model = CancellationRequest
    fk_name = "account"
    fields = (
        "at",
        "outcome",
        "reason",
        "callers_words",
        "by",
        "voluntary",
        "pause_accepted",
        "in_time",
        "confirmation",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("reason", "taken_by", "account")

    @admin.display(description=_("confirmation (R4)"))
    def confirmation(self, obj):
        return confirmation_state(obj)


class SignupFormInline(ReadOnlyInline):
    model = SignupForm
    fields = ("name", "public_key", "discarded_signups")
    readonly_fields = fields
    verbose_name_plural = _("sign-up forms (sign-ups after closing are discarded and counted, R6)")


class IntegrationInline(ReadOnlyInline):
    model = Integration
    fields = ("service", "connected", "disconnected_at")
    readonly_fields = fields


class HostedFileInline(ReadOnlyInline):
    model = HostedFile
    fields = ("name", "kind", "content_type", "online", "public_url")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("content")

    @admin.display(description=_("public URL"))
    def public_url(self, obj):
        url = reverse("public:hosted_file", kwargs={"public_key": obj.public_key})
        return format_html('<a href="{}">{}</a>', url, url)
