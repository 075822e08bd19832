"""The account admin: list, filters, the read-only timeline, the cancellation desk and the
agent actions (pause, resume, reactivate). Views parse input and call one service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import selectors
from accounts.admin.common import (
    billing_profile_of,
    billing_summary,
    local_time,
    next_system_step,
)
from accounts.admin.filters import ConfirmationOverdueFilter, TrialEndsSoonFilter
from accounts.admin.inlines import (
    AccountEventInline,
    CancellationRequestInline,
    HostedFileInline,
    IntegrationInline,
    SignupFormInline,
    UnsubscribeLinkInline,
)
from accounts.forms import (
    AgentActionForm,
    CancellationCallForm,
    ForecastForm,
    PauseForm,
    TrialCloseForm,
)
from accounts.models import Account, AccountStatus
from accounts.resources import AccountExport, AccountResource
from accounts.services import (
    AGENT_ACTIONS,
    MOVES,
    AccountDetailsError,
    LifecycleError,
    account_open,
)
from billing.models import BillingProfile
from billing.texts import owed_sentence
from core.actors import Actor
from core.admin import ServiceForm, ServiceFormAdmin
from core.paging import EstimatedCountPaginator
from exchanges.admin import CsvImportMixin, StreamingExportMixin
from jobs.forecast import account_forecast, account_forecast_if_cancelled
from workflows.desk import account_agent_action, cancellation_call_take
from workflows.details import account_details_change
from workflows.forecast import DEFAULT_DAYS, ForecastEntry

S = AccountStatus
# Forecast entries shown on the account page; the full list has its own page.
FORECAST_NEXT = 5


def forecast_line(entry: ForecastEntry) -> str:
    """One forecast entry as staff read it: the local moment, what, the amount, the rule."""
    money = f" {entry.amount} {entry.currency}" if entry.amount is not None else ""
    rule = f" ({entry.rule})" if entry.rule else ""
    return f"{entry.local:%Y-%m-%d %H:%M %Z}: {entry.label}{money}{rule}"


# Each action: its button label, the confirmation button and what it does, in the staff
# member's language (looked up per request, hence the lazy texts and the format later).
ACTION_COPY = {
    "pause": (
        gettext_lazy("Pause"),
        gettext_lazy("Yes, pause %(username)s"),
        gettext_lazy(
            "The account keeps its data and cannot send; the pause fee of %(fee)s %(currency)s "
            "per month applies (R8)."
        ),
    ),
    "resume": (
        gettext_lazy("Resume"),
        gettext_lazy("Yes, resume %(username)s"),
        gettext_lazy("The account returns to active and can send again (R8)."),
    ),
    "allow_pause": (
        gettext_lazy("Allow a second pause"),
        gettext_lazy("Yes, allow %(username)s a second pause"),
        gettext_lazy(
            "An account is paused once per billing period; this allows the agent to pause it "
            "again within the period (R8). The allowance is on the timeline."
        ),
    ),
    "reactivate": (
        gettext_lazy("Reactivate"),
        gettext_lazy("Yes, reactivate %(username)s"),
        gettext_lazy(
            "Within the retention window the account returns to active with everything it "
            "had: hosted files back online, integrations reconnected (R7, %(days)s days)."
        ),
    ),
}


@dataclass(frozen=True)
class PageFacts:
    """What the account page says in two places (at a glance, and the details below it), read
    once per page."""

    profile: BillingProfile | None
    billing: str
    pending: int
    overdue: int


def page_facts(account: Account, now: datetime) -> PageFacts:
    """The account's page facts, kept on the account object for the rest of the page."""
    facts = account.__dict__.get("_page_facts")
    if facts is None:
        profile = billing_profile_of(account)
        facts = account.__dict__["_page_facts"] = PageFacts(
            profile=profile,
            billing=billing_summary(account, now, profile=profile),
            pending=selectors.confirmations_pending(as_of=now).filter(account=account).count(),
            overdue=selectors.confirmations_overdue(as_of=now).filter(account=account).count(),
        )
    return facts


def up_to(count: int, cap: int) -> str:
    """A count made by ``selectors.account_content``: the figure, or "more than" the cap."""
    if count > cap:
        return _("more than %(count)s") % {"count": number_format(cap, force_grouping=True)}
    return number_format(count, force_grouping=True)


OPEN_FIELDS = ("username", "company", "primary_email", "time_zone", "language")
DETAIL_FIELDS = ("company", "primary_email", "time_zone", "language")


class AccountOpenForm(ServiceForm):
    """A new account, on a free trial (R1)."""

    refusals = (AccountDetailsError,)

    class Meta:
        model = Account
        fields = OPEN_FIELDS

    def apply(self, data, *, by, now):
        return account_open(by=by, now=now, **{f: data[f] for f in OPEN_FIELDS})


class AccountDetailsForm(ServiceForm):
    """The details staff may change, with why; each change on the timeline (R12). A new time
    zone moves the billing cut-off with it (R3)."""

    refusals = (AccountDetailsError,)
    reason = forms.CharField(
        label=gettext_lazy("Reason for the change"),
        max_length=300,
        help_text=gettext_lazy("Shown on the account's timeline."),
    )

    class Meta:
        model = Account
        fields = DETAIL_FIELDS

    def apply(self, data, *, by, now):
        account_details_change(
            account=self.instance,
            changes={f: data[f] for f in DETAIL_FIELDS if f in data},
            by=by,
            now=now,
            reason=data["reason"],
        )
        return self.instance


@admin.register(Account)
class AccountAdmin(CsvImportMixin, StreamingExportMixin, ServiceFormAdmin):
    list_display = (
        "username",
        "company",
        "primary_email",
        "status",
        "time_zone",
        "trial_ends",
        "inactive_since",
        "legal_hold",
    )
    list_filter = (
        "status",
        TrialEndsSoonFilter,
        ConfirmationOverdueFilter,
        "language",
        "legal_hold",
    )
    search_fields = ("^username", "^primary_email", "company")
    readonly_fields = (
        "status",
        "created_at",
        "trial_ends_at",
        "last_activity_at",
        "inactive_since",
        "paused_until",
        "legal_hold",
        "legal_hold_reason",
        "billing_and_cut_off",
        "content_summary",
        "confirmations",
        "forecast",
    )
    fieldsets = (
        (None, {"fields": ("username", "company", "primary_email", "time_zone", "language")}),
        (
            gettext_lazy("Lifecycle"),
            {
                "fields": (
                    "status",
                    "created_at",
                    "trial_ends_at",
                    "last_activity_at",
                    "inactive_since",
                    "paused_until",
                    "legal_hold",
                    "legal_hold_reason",
                    "billing_and_cut_off",
                    "confirmations",
                    "forecast",
                )
            },
        ),
        (gettext_lazy("Content"), {"fields": ("content_summary",)}),
    )
    inlines = [
        CancellationRequestInline,
        SignupFormInline,
        IntegrationInline,
        HostedFileInline,
        UnsubscribeLinkInline,
        AccountEventInline,
    ]
    change_form_template = "admin/accounts/account/change_form.html"
    show_full_result_count = False
    # No COUNT over a million accounts on each page view.
    paginator = EstimatedCountPaginator
    list_per_page = 50
    # Managers: bulk updates of the details by CSV, and the filtered list as CSV.
    resource_classes = [AccountResource]
    import_permission = "exchanges.import_accounts"
    streaming_export = AccountExport
    streaming_export_permission = "exchanges.export_accounts"

    add_form = AccountOpenForm
    change_form = AccountDetailsForm

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        # The username is the caller's identity check; it is fixed once the account exists.
        return (*fields, "username") if obj else ()

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return ((None, {"fields": OPEN_FIELDS}),)
        details = ("username", *DETAIL_FIELDS, "reason")
        return ((None, {"fields": details}), *self.fieldsets[1:])

    # Accounts are never deleted: purge empties them and keeps the record (R7, R12); the
    # ServiceFormAdmin refuses deleting for everyone.

    @admin.display(description=gettext_lazy("trial ends"), ordering="trial_ends_at")
    def trial_ends(self, obj):
        return local_time(obj.trial_ends_at, obj) if obj.status == S.TRIAL else "—"

    @admin.display(description=gettext_lazy("next billing date (R3)"))
    def billing_and_cut_off(self, obj):
        return page_facts(obj, timezone.now()).billing

    @admin.display(description=gettext_lazy("content"))
    def content_summary(self, obj):
        cap = selectors.CONTENT_COUNTED_UP_TO
        content = selectors.account_content(account=obj, cap=cap)
        return _(
            "%(contacts)s contacts, %(campaigns)s campaigns, %(forms)s sign-up forms "
            "(%(discarded)s sign-ups discarded after closing), %(connected)s of "
            "%(integrations)s integrations connected, %(online)s of %(files)s hosted files online"
        ) % {
            **content,
            "contacts": up_to(content["contacts"], cap),
            "campaigns": up_to(content["campaigns"], cap),
        }

    @admin.display(description=gettext_lazy("confirmations (R4)"))
    def confirmations(self, obj):
        count = page_facts(obj, timezone.now()).overdue
        if count:
            return format_html(
                '<strong style="color:#ba2121">{}</strong>',
                _("%(count)s confirmation(s) overdue") % {"count": count},
            )
        return _("none overdue")

    @admin.display(description=gettext_lazy("forecast"))
    def forecast(self, obj):
        """The next few things the jobs will do to the account, if nothing else changes."""
        if obj.status == S.PURGED:
            return _("nothing: the account is purged")
        forecast = account_forecast(account=obj, as_of=timezone.now())
        url = reverse("admin:accounts_account_forecast", args=[obj.pk])
        items = format_html_join(
            "", "<li>{}</li>", ((forecast_line(e),) for e in forecast.entries[:FORECAST_NEXT])
        )
        if not forecast.entries:
            items = format_html(
                "<li>{}</li>", _("nothing in the next %(days)s days") % {"days": DEFAULT_DAYS}
            )
        notes = format_html_join("", "<li>{}</li>", ((n,) for n in forecast.notes))
        return format_html(
            '<ul class="forecast-next">{}{}</ul><a href="{}">{}</a>',
            items,
            notes,
            url,
            _("Full forecast (%(count)s entries, %(days)s days)")
            % {"count": len(forecast.entries), "days": DEFAULT_DAYS},
        )

    # --- The desk and the agent actions -----------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        # Account ids are numbers: "abc" or a NUL byte in their place is not found (404), never
        # a query that fails on them.
        return [
            path(
                "<int:object_id>/cancellation-call/",
                wrap(self.cancellation_call_view),
                name="accounts_account_cancellation_call",
            ),
            path(
                "<int:object_id>/forecast/",
                wrap(self.forecast_view),
                name="accounts_account_forecast",
            ),
            path(
                "<int:object_id>/act/<slug:action>/",
                wrap(self.agent_action_view),
                name="accounts_account_agent_action",
            ),
            *super().get_urls(),
        ]

    def get_object(self, request, object_id, from_field=None):
        # The page asks for its account twice (for the desk and at a glance, then for the
        # form): read once, and the facts kept on it serve both.
        read = request.__dict__.setdefault("_accounts_read", {})
        key = (object_id, from_field)
        if key not in read:
            read[key] = super().get_object(request, object_id, from_field)
        return read[key]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        account = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "desk_buttons": self._buttons(request, account),
            "at_a_glance": self.at_a_glance(account) if account else None,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def at_a_glance(self, account) -> list[tuple[str, str, str]]:
        """The phone agent's view, at the top of the page: (id, label, what it says)."""
        now = timezone.now()
        facts = page_facts(account, now)
        owed = owed_sentence(facts.profile) if facts.profile else _("No billing profile.")
        hold = (
            _("Legal hold: %(reason)s") % {"reason": account.legal_hold_reason}
            if account.legal_hold
            else _("none")
        )
        return [
            (
                "glance-state",
                _("State"),
                _("%(state)s since %(since)s")
                % {
                    "state": account.get_status_display(),
                    "since": local_time(selectors.status_since(account), account),
                },
            ),
            ("glance-owed", _("Owed"), owed),
            ("glance-billing", _("Next billing date and cut-off"), facts.billing),
            (
                "glance-confirmations",
                _("Open confirmations"),
                _("%(pending)s pending, %(overdue)s overdue (sent within 24 hours)")
                % {"pending": facts.pending, "overdue": facts.overdue},
            ),
            ("glance-holds", _("Holds"), hold),
            (
                "glance-next",
                _("What the system does next"),
                next_system_step(account, now, profile=facts.profile),
            ),
        ]

    def _buttons(self, request, account):
        if account is None:
            return []
        user, pk = request.user, account.pk
        buttons = []
        if user.has_perm("accounts.take_cancellation_call") and account.status not in (
            S.CANCELLED,
            S.EXPIRED,
            S.PURGED,
        ):
            url = reverse("admin:accounts_account_cancellation_call", args=[pk])
            buttons.append((_("Take cancellation call"), url))
        # Which state allows which move, and who may, as the services decide it.
        for action, perm in AGENT_ACTIONS.items():
            # Allowing a second pause is no move: offered to active and paused accounts.
            states = (S.ACTIVE, S.PAUSED) if action == "allow_pause" else MOVES[action].sources
            if account.status in states and user.has_perm(perm):
                url = reverse("admin:accounts_account_agent_action", args=[pk, action])
                buttons.append((ACTION_COPY[action][0], url))
        # The page shows the latest events; the whole timeline is a list of its own.
        url = reverse("admin:accounts_accountevent_changelist")
        buttons.append((_("Full timeline"), f"{url}?account__id__exact={pk}"))
        return buttons

    def _context(self, request, account, **extra):
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "account": account,
            "original": account,
            "has_view_permission": True,
            **extra,
        }

    def cancellation_call_view(self, request, object_id):
        if not request.user.has_perm("accounts.take_cancellation_call"):
            raise PermissionDenied
        account = get_object_or_404(Account, pk=object_id)
        change_url = reverse("admin:accounts_account_change", args=[account.pk])
        is_trial = account.status == S.TRIAL
        form_class = TrialCloseForm if is_trial else CancellationCallForm
        form = form_class(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                call = cancellation_call_take(
                    account=account,
                    by=Actor.staff(request.user),
                    now=timezone.now(),
                    username_typed=data["username"],
                    reason=data["reason"],
                    callers_words=data["callers_words"],
                    pause_accepted=None if is_trial else form.pause_accepted(),
                    close_trial=is_trial,
                )
            except LifecycleError as exc:
                messages.error(request, _("Nothing was changed: %(error)s.") % {"error": exc})
            else:
                messages.success(
                    request,
                    _(
                        "%(username)s: %(outcome)s; the confirmation email goes out within "
                        "24 hours (R4)."
                    )
                    % {
                        "username": account.username,
                        "outcome": call.get_outcome_display().lower(),
                    },
                )
                return redirect(change_url)
        now = timezone.now()
        try:
            _as_is, if_cancelled, outlook = account_forecast_if_cancelled(
                account=account, as_of=now, by=Actor.staff(request.user)
            )
        except LifecycleError:
            if_cancelled = outlook = None
        context = self._context(
            request,
            account,
            title=_("Cancellation call: %(username)s") % {"username": account.username},
            if_cancelled=if_cancelled,
            outlook=outlook,
            form=form,
            is_trial=is_trial,
            trial_ends=local_time(account.trial_ends_at, account),
            billing=billing_summary(account, now),
            # The zone's name is in the same row of the page.
            local_now=local_time(now, account),
            change_url=change_url,
        )
        return TemplateResponse(request, "admin/accounts/account/cancellation_call.html", context)

    def forecast_view(self, request, object_id):
        account = get_object_or_404(Account, pk=object_id)
        if not self.has_view_permission(request, account):
            raise PermissionDenied
        change_url = reverse("admin:accounts_account_change", args=[account.pk])
        form = ForecastForm(request.GET or None)
        days = form.cleaned_data["days"] if form.is_valid() and form.cleaned_data["days"] else None
        forecast = account_forecast(
            account=account, as_of=timezone.now(), days=days or DEFAULT_DAYS
        )
        context = self._context(
            request,
            account,
            title=_("Forecast: %(username)s") % {"username": account.username},
            form=form,
            forecast=forecast,
            days=days or DEFAULT_DAYS,
            change_url=change_url,
        )
        return TemplateResponse(request, "admin/accounts/account/forecast.html", context)

    def agent_action_view(self, request, object_id, action):
        # The page is the agent's (Support); other roles do not get it, the service refuses
        # them anyway.
        if action not in ACTION_COPY or not request.user.has_perm(AGENT_ACTIONS[action]):
            raise PermissionDenied
        account = get_object_or_404(Account, pk=object_id)
        change_url = reverse("admin:accounts_account_change", args=[account.pk])
        form = (PauseForm if action == "pause" else AgentActionForm)(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                account_agent_action(
                    account=account,
                    action=action,
                    by=Actor.staff(request.user),
                    now=timezone.now(),
                    username_typed=form.cleaned_data["username"],
                    reason=form.cleaned_data["reason"],
                    until=form.cleaned_data.get("until"),
                )
            except LifecycleError as exc:
                messages.error(request, _("Nothing was changed: %(error)s.") % {"error": exc})
            else:
                account.refresh_from_db()
                messages.success(
                    request,
                    _("%(username)s is now %(status)s.")
                    % {
                        "username": account.username,
                        "status": account.get_status_display().lower(),
                    },
                )
                return redirect(change_url)
        label, confirm, explanation = ACTION_COPY[action]
        values = {
            "username": account.username,
            "fee": settings.PAUSE_FEE,
            "currency": settings.PAUSE_FEE_CURRENCY,
            "days": settings.RETENTION_DAYS,
        }
        context = self._context(
            request,
            account,
            title=f"{label} {account.username}",
            form=form,
            label=label,
            confirm=confirm % values,
            explanation=explanation % values,
            change_url=change_url,
        )
        return TemplateResponse(request, "admin/accounts/account/agent_action.html", context)
