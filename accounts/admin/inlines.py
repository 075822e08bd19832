"""Read-only inlines on the account page: requests, content, the timeline."""

from __future__ import annotations

from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.admin.common import confirmation_state
from accounts.links import unsubscribe_url
from accounts.models import (
    AccountEvent,
    CancellationRequest,
    Contact,
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


# Contacts' addresses are shown on no page but to Compliance (the officers who already see
# suppressed addresses in their admin), so that the unsubscribe link of a contact can be
# tried. The double opt-in confirmations are Compliance's alone: the same people.
UNSUBSCRIBE_LINKS_PERMISSION = "compliance.view_optinconfirmation"
# An account can have a million contacts: the page shows the first ones.
UNSUBSCRIBE_LINKS_SHOWN = 20


class FirstContactsFormSet(BaseInlineFormSet):
    def get_queryset(self):
        if not hasattr(self, "_first"):
            self._first = super().get_queryset()[:UNSUBSCRIBE_LINKS_SHOWN]
        return self._first


class UnsubscribeLinkInline(ReadOnlyInline):
    """Each contact's unsubscribe link (the first ones), for Compliance to try: opening it
    unsubscribes the address, as it does from a mail (R9)."""

    model = Contact
    formset = FirstContactsFormSet
    verbose_name = _("unsubscribe link")
    verbose_name_plural = _("unsubscribe links of the first contacts (Compliance only)")
    fields = ("email", "unsubscribe_link")
    readonly_fields = fields
    ordering = ("id",)

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(UNSUBSCRIBE_LINKS_PERMISSION)

    @admin.display(description=_("unsubscribe link"))
    def unsubscribe_link(self, obj: Contact) -> str:
        if obj is None or obj.pk is None:
            return ""
        url = unsubscribe_url(account_id=obj.account_id, address=obj.email)
        return format_html(
            '<a href="{}" class="unsubscribe-link" target="_blank" rel="noopener">{}</a>',
            url,
            _("open (unsubscribes this address)"),
        )


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
