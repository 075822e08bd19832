"""Retention (R7): purge day on each account's calendar, legal holds, purge receipts."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import transaction
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import INACTIVE_STATUSES
from accounts.selectors import accounts_due_for_purge, accounts_past_retention, purge_day
from accounts.services import LegalHoldError, account_legal_hold_set
from approvals.services import ApprovalError
from compliance.forms import LegalHoldForm, SignOffReasonForm
from compliance.models import (
    PurgeReceipt,
    RetentionAccount,
)
from core.actors import Actor
from core.admin import ReadOnlyAdmin
from core.localtime import local_day
from workflows.compliance_signoffs import legal_hold_release_request, purge_request
from workflows.purge import PURGE_BY_HAND


@admin.register(PurgeReceipt)
class PurgeReceiptAdmin(ReadOnlyAdmin):
    list_display = ("at", "account", "inactive_since", "what", "run")
    search_fields = ("=account__username",)
    list_select_related = ("account",)
    readonly_fields = ("account", "at", "started_at", "inactive_since", "counts", "by_job", "run")

    @admin.display(description=gettext_lazy("deleted"))
    def what(self, obj):
        return ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in obj.counts.items() if v) or _(
            "nothing"
        )


class PurgeDueFilter(admin.SimpleListFilter):
    title = gettext_lazy("purge")
    parameter_name = "purge"

    def lookups(self, request, model_admin):
        return [
            ("due", _("Due now")),
            ("7d", _("Purge within 7 days")),
            ("held", _("Past retention, under legal hold")),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "due":
            return queryset.filter(pk__in=accounts_due_for_purge(as_of=now).values("pk"))
        if self.value() == "7d":
            return queryset.filter(
                pk__in=accounts_due_for_purge(as_of=now + timedelta(days=7)).values("pk")
            )
        if self.value() == "held":
            held = accounts_past_retention(as_of=now, legal_hold=True)
            return queryset.filter(pk__in=held.values("pk"))
        return queryset


@admin.register(RetentionAccount)
class RetentionAccountAdmin(ReadOnlyAdmin):
    """Accounts seen from retention (R7): purge day, legal holds."""

    list_display = (
        "username",
        "status",
        "inactive_since",
        "purge_on",
        "legal_hold",
        "legal_hold_reason",
    )
    list_filter = (PurgeDueFilter, "status", "legal_hold")
    search_fields = ("=username",)
    actions = ["set_legal_hold", "request_legal_hold_release", "request_purge"]
    fields = ("username", "company", "status", "inactive_since", "legal_hold", "legal_hold_reason")
    readonly_fields = fields

    @admin.display(description=gettext_lazy("purge day (account's calendar)"))
    def purge_on(self, obj):
        if obj.legal_hold:
            return _("never while held")
        if obj.status not in INACTIVE_STATUSES:
            return "—"
        # A day of the account's calendar: its zone says whose calendar.
        return local_day(purge_day(obj), obj.zone)

    def has_legal_hold_permission(self, request) -> bool:
        return request.user.has_perm("accounts.set_legal_hold")

    def has_purge_permission(self, request) -> bool:
        return request.user.has_perm(PURGE_BY_HAND)

    def _for_each(
        self, request, queryset, *, action: str, title: str, service, done: str, form_class
    ):
        """The reason form, then `service` for every selected account, all or nothing."""
        form = form_class(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            by, now, changed = Actor.staff(request.user), timezone.now(), 0
            failed = None
            try:
                # All the selected accounts or none: a refusal rolls back those before it.
                with transaction.atomic():
                    for account in queryset:
                        failed = account
                        changed += bool(
                            service(
                                account=account, reason=form.cleaned_data["reason"], by=by, now=now
                            )
                        )
            except (LegalHoldError, ApprovalError) as exc:
                self.message_user(
                    request,
                    _("Nothing was changed: %(account)s: %(error)s")
                    % {"account": failed, "error": exc},
                    messages.ERROR,
                )
                return None
            self.message_user(request, done % {"count": changed}, messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "form": form,
            "accounts": queryset,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(
            request, "admin/compliance/retentionaccount/legal_hold.html", context
        )

    @admin.action(
        description=gettext_lazy("Set a legal hold (never purged while held)"),
        permissions=["legal_hold"],
    )
    def set_legal_hold(self, request, queryset):
        return self._for_each(
            request,
            queryset,
            action="set_legal_hold",
            title=_("Set a legal hold"),
            service=account_legal_hold_set,
            form_class=LegalHoldForm,
            done=_("Legal hold set on %(count)s account(s)."),
        )

    @admin.action(
        description=gettext_lazy("Ask to release the legal hold (a second person signs off)"),
        permissions=["legal_hold"],
    )
    def request_legal_hold_release(self, request, queryset):
        return self._for_each(
            request,
            queryset,
            action="request_legal_hold_release",
            title=_("Ask to release a legal hold"),
            service=legal_hold_release_request,
            form_class=SignOffReasonForm,
            done=_(
                "Release asked for on %(count)s account(s): another compliance officer signs "
                "it off under Sign-offs."
            ),
        )

    @admin.action(
        description=gettext_lazy(
            "Ask to purge now, past retention (a second person signs off; R7)"
        ),
        permissions=["purge"],
    )
    def request_purge(self, request, queryset):
        return self._for_each(
            request,
            queryset,
            action="request_purge",
            title=_("Ask to purge an account now"),
            service=purge_request,
            form_class=SignOffReasonForm,
            done=_(
                "Purge asked for on %(count)s account(s): another compliance officer signs "
                "it off under Sign-offs."
            ),
        )
