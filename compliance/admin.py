"""Compliance admin: suppressions and opt-ins (R9), hand-over exports (R10), imports of other
providers' lists, retention with legal holds and purge receipts (R7).

Suppressions, opt-ins, exports and receipts are records: nobody edits or deletes them here,
superusers included (R12). Pages call services and show their refusals as messages.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export.admin import ImportMixin

from accounts.models import INACTIVE_STATUSES
from accounts.selectors import accounts_due_for_purge, accounts_past_retention, purge_day
from accounts.services import LegalHoldError, account_legal_hold_release, account_legal_hold_set
from compliance import conf
from compliance.addresses import InvalidAddress, address_key
from compliance.forms import (
    ExportForm,
    ImportConfirmForm,
    ImportMappingForm,
    ImportUploadForm,
    LegalHoldForm,
    OptInForm,
    SuppressionMappingForm,
)
from compliance.layouts import FileRefused
from compliance.models import (
    OptIn,
    OptInConfirmation,
    PurgeReceipt,
    RetentionAccount,
    Suppression,
    SuppressionExport,
    SuppressionImport,
    SuppressionMapping,
)
from compliance.selectors import in_force_at
from compliance.services import (
    ExportRefused,
    suppression_export,
    suppression_import_apply,
    suppression_import_map,
    suppression_import_preview,
    suppression_import_start,
)
from compliance.services.import_runs import (
    suppression_import_layout,
    suppression_import_reasons,
    suppression_import_summary,
)
from compliance.tasks import import_apply, import_preview
from core.actors import Actor
from core.admin import ReadOnlyAdmin, ServiceFormAdmin
from core.localtime import local_day


class InForceFilter(admin.SimpleListFilter):
    """Whether a suppression event is in force now (R9: no opt-in of the address since)."""

    title = gettext_lazy("in force now (R9)")
    parameter_name = "in_force"

    def lookups(self, request, model_admin):
        return [("yes", _("in force")), ("no", _("lifted by a later opt-in"))]

    def queryset(self, request, queryset):
        if self.value() not in ("yes", "no"):
            return queryset
        in_force = in_force_at(timezone.now())
        if self.value() == "yes":
            return queryset.filter(in_force)
        return queryset.exclude(in_force)


class RecordAdmin(ReadOnlyAdmin):
    """A list of records nobody may add, change or delete here, superusers included (R12)."""


@admin.register(Suppression)
class SuppressionAdmin(RecordAdmin):
    list_display = ("normalised", "address", "account", "reason", "source", "at", "by")
    list_filter = ("reason", "source", InForceFilter)
    search_fields = ("=normalised", "=account__username")
    search_help_text = gettext_lazy(
        "An address (matched on its normalised form) or an account's username"
    )
    list_select_related = ("account", "by_user")
    date_hierarchy = None

    def get_search_results(self, request, queryset, search_term):
        # Staff paste addresses as they got them; the key is the normalised form. An address
        # is looked up on its own index (across every account: "is this person suppressed
        # anywhere?"); anything else is an account's username.
        term = search_term.strip()
        if "@" in term:
            try:
                return queryset.filter(normalised=address_key(term)), False
            except InvalidAddress:
                pass
        return super().get_search_results(request, queryset, search_term)


@admin.register(OptIn)
class OptInAdmin(RecordAdmin):
    """Opt-ins lift suppressions; they are added with their evidence, never changed."""

    form = OptInForm
    list_display = ("normalised", "account", "method", "at", "origin", "by")
    list_filter = ("method",)
    search_fields = ("=normalised", "=account__username")
    list_select_related = ("account", "by_user")

    def has_add_permission(self, request, obj=None):
        return request.user.has_perm("compliance.add_optin")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["account_username", "address", "at", "method", "origin", "evidence"]
        return [
            "account",
            "address",
            "normalised",
            "at",
            "method",
            "origin",
            "evidence",
            "recorded_at",
            "by",
        ]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj) if obj is not None else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        # The staff member records the opt-in through the service (ServiceForm).
        setattr(form, "actor", Actor.staff(request.user))  # noqa: B010
        return form

    def save_model(self, request, obj, form, change):
        created = form.applied
        obj.pk, obj.account, obj._state.adding = created.pk, created.account, False


class ConfirmationStateFilter(admin.SimpleListFilter):
    title = gettext_lazy("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [
            ("confirmed", _("Confirmed")),
            ("waiting", _("Mailed, waiting for the click")),
            ("unsent", _("Mail not sent")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "confirmed":
            return queryset.filter(confirmed_at__isnull=False)
        if self.value() == "waiting":
            return queryset.filter(confirmed_at__isnull=True, mail_sent_at__isnull=False)
        if self.value() == "unsent":
            return queryset.filter(confirmed_at__isnull=True, mail_sent_at__isnull=True)
        return queryset


@admin.register(OptInConfirmation)
class OptInConfirmationAdmin(RecordAdmin):
    """Double opt-ins: sign-ups of unsubscribed addresses, their mail and their click (R9)."""

    list_display = (
        "normalised",
        "account",
        "form_name",
        "posted_at",
        "posted_ip",
        "mail_sent_at",
        "confirmed_at",
        "confirmed_ip",
        "optin",
    )
    list_filter = (ConfirmationStateFilter,)
    search_fields = ("=normalised", "=account__username")
    search_help_text = gettext_lazy(
        "An address (matched on its normalised form) or an account's username"
    )
    list_select_related = ("account", "optin")
    fields = (
        "account",
        "address",
        "normalised",
        "form_name",
        "form_key",
        "posted_at",
        "posted_ip",
        "mail_sent_at",
        "mail_error",
        "confirmed_at",
        "confirmed_ip",
        "optin",
    )
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if "@" in term:
            try:
                return queryset.filter(normalised=address_key(term)), False
            except InvalidAddress:
                pass
        return super().get_search_results(request, queryset, search_term)


@admin.register(SuppressionExport)
class SuppressionExportAdmin(RecordAdmin):
    """The log of hand-over exports (R10), and the page that makes one."""

    change_list_template = "admin/compliance/suppressionexport/change_list.html"
    list_display = ("at", "account", "format", "rows", "complete", "by", "purpose")
    list_filter = ("format", "complete")
    search_fields = ("=account__username",)
    list_select_related = ("account", "by_user")

    def has_export_permission(self, request) -> bool:
        return request.user.has_perm("compliance.export_suppressions")

    def get_urls(self):
        return [
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name="compliance_suppressionexport_export",
            )
        ] + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_export": self.has_export_permission(request)}
        return super().changelist_view(request, extra_context)

    def export_view(self, request):
        if not self.has_export_permission(request):
            raise PermissionDenied
        form = ExportForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            account, fmt = form.cleaned_data["account"], form.cleaned_data["format"]
            now = timezone.now()
            try:
                stream = suppression_export(
                    account=account,
                    purpose=form.cleaned_data["purpose"],
                    fmt=fmt,
                    by=Actor.staff(request.user),
                    now=now,
                )
            except ExportRefused as exc:
                form.add_error(None, str(exc))
            else:
                response = StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
                name = f"unsubscribes-{account.username}-{fmt}-{now:%Y%m%d}.csv"
                response["Content-Disposition"] = f'attachment; filename="{name}"'
                return response
        context = {
            **self.admin_site.each_context(request),
            "title": _("Export an unsubscribe list for hand-over"),
            "opts": self.opts,
            "form": form,
        }
        return TemplateResponse(request, "admin/compliance/suppressionexport/export.html", context)


@admin.register(SuppressionImport)
class SuppressionImportAdmin(ImportMixin, RecordAdmin):
    """Imports of other providers' unsubscribe lists: upload, preview, confirm. Large files
    are read by a Celery task; the page shows its progress."""

    list_display = (
        "created_at",
        "file_name",
        "account",
        "status",
        "layout_name",
        "progress",
        "summary",
        "by",
    )
    list_filter = ("status",)
    search_fields = ("=account__username", "file_name")
    list_select_related = ("account", "by_user")

    @admin.display(description=gettext_lazy("by"))
    def by(self, obj):
        return obj.by_job and _("job %(job)s") % {"job": obj.by_job} or obj.by_user

    @admin.display(description=gettext_lazy("progress"))
    def progress(self, obj):
        return _("%(percent)s%% (%(rows)s rows)") % {
            "percent": obj.progress_percent,
            "rows": obj.rows_done,
        }

    @admin.display(description=gettext_lazy("layout"))
    def layout_name(self, obj):
        return suppression_import_layout(obj)[0]

    @admin.display(description=gettext_lazy("result"))
    def summary(self, obj):
        if obj.status in (
            SuppressionImport.Status.REFUSED,
            SuppressionImport.Status.FAILED,
            SuppressionImport.Status.MAPPING,
        ):
            return obj.error
        return suppression_import_summary(obj) if obj.counts else ""

    def has_import_permission(self, request):
        return request.user.has_perm("compliance.import_suppressions")

    def get_urls(self):
        return [
            path(
                "<int:record_id>/progress/",
                self.admin_site.admin_view(self.progress_view),
                name="compliance_suppressionimport_progress",
            ),
            path(
                "<int:record_id>/mapping/",
                self.admin_site.admin_view(self.mapping_view),
                name="compliance_suppressionimport_mapping",
            ),
        ] + super().get_urls()

    def _progress_url(self, record_id: int) -> str:
        return reverse("admin:compliance_suppressionimport_progress", args=[record_id])

    def _render_upload(self, request, form, error: str = ""):
        context = {
            "error": error,
            **self.admin_site.each_context(request),
            "title": _("Import an unsubscribe list"),
            "opts": self.opts,
            "form": form,
            "max_mb": conf.admin_upload_max_bytes() // (1024 * 1024),
        }
        return TemplateResponse(request, "admin/compliance/suppressionimport/import.html", context)

    def import_action(self, request, **kwargs):
        """Upload, then preview: within the request for a small file, in a Celery task for a
        large one (django-import-export would parse the whole file twice in requests)."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return self._render_upload(request, ImportUploadForm())
        limit = conf.admin_upload_max_bytes()
        size = int(request.META.get("CONTENT_LENGTH") or 0)
        if size > limit:
            # Checked before the body is read: a 2 GB upload is not received at all.
            return self._render_upload(
                request,
                ImportUploadForm(),
                _(
                    "The file is %(size)s MB; the admin takes files up to %(limit)s MB. Import "
                    "it on the server with `%(command)s`."
                )
                % {
                    "size": f"{size / 1024 / 1024:,.0f}",
                    "limit": limit // (1024 * 1024),
                    "command": "python manage.py import_suppressions --account USERNAME FILE",
                },
            )
        form = ImportUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self._render_upload(request, form)
        upload = form.cleaned_data["import_file"]
        layout, mapping = form.cleaned_data["layout"]
        now = timezone.now()
        try:
            record = suppression_import_start(
                account=form.cleaned_data["account"],
                chunks=upload.chunks(),
                file_name=upload.name,
                by=Actor.staff(request.user),
                now=now,
                layout=layout,
                mapping=mapping,
            )
        except FileRefused as exc:
            return self._render_upload(request, form, str(exc))
        self._preview(record, now=now)
        return HttpResponseRedirect(self._progress_url(record.pk))

    def _preview(self, record: SuppressionImport, *, now) -> None:
        """Within the request for a small file, in a Celery task for a large one."""
        if record.size_bytes > conf.import_inline_max_bytes():
            SuppressionImport.objects.filter(pk=record.pk).update(in_background=True)
            transaction.on_commit(lambda: import_preview.delay(record.pk))
        else:
            suppression_import_preview(record_id=record.pk, now=now)

    def mapping_view(self, request, record_id: int):
        """The mapping step: the staff say which column holds what; the file is read again."""
        if request.method != "POST" or not self.has_import_permission(request):
            raise PermissionDenied
        record = get_object_or_404(SuppressionImport, pk=record_id)
        form = ImportMappingForm(request.POST, columns=record.columns)
        if not form.is_valid():
            return self.progress_view(request, record_id, mapping_form=form)
        now = timezone.now()
        try:
            record = suppression_import_map(
                record_id=record.pk,
                mapping=form.cleaned_data["mapping"],
                save_as=form.cleaned_data.get("save_as") or "",
                by=Actor.staff(request.user),
                now=now,
            )
        except FileRefused as exc:
            form.add_error(None, str(exc))
            return self.progress_view(request, record_id, mapping_form=form)
        self._preview(record, now=now)
        return HttpResponseRedirect(self._progress_url(record.pk))

    def process_import(self, request, **kwargs):
        """The staff confirmed the preview: import for good."""
        if request.method != "POST":
            raise PermissionDenied
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = ImportConfirmForm(request.POST)
        if not form.is_valid():
            raise PermissionDenied
        record = get_object_or_404(SuppressionImport, pk=form.cleaned_data["record"])
        if record.status != SuppressionImport.Status.PREVIEWED:
            messages.warning(
                request,
                _("This import is %(status)s.") % {"status": record.get_status_display().lower()},
            )
        elif record.in_background:
            transaction.on_commit(lambda: import_apply.delay(record.pk))
            messages.info(request, _("The import runs in the background; this page follows it."))
        else:
            record = suppression_import_apply(record_id=record.pk, now=timezone.now())
            level = (
                messages.SUCCESS
                if record.status == SuppressionImport.Status.DONE
                else messages.ERROR
            )
            messages.add_message(
                request,
                level,
                record.error or f"{record.file_name}: {suppression_import_summary(record)}",
            )
        return HttpResponseRedirect(self._progress_url(record.pk))

    def progress_view(self, request, record_id: int, mapping_form=None):
        if not (self.has_import_permission(request) or self.has_view_permission(request)):
            raise PermissionDenied
        record = get_object_or_404(
            SuppressionImport.objects.select_related("account"), pk=record_id
        )
        S = SuppressionImport.Status
        can_import = self.has_import_permission(request)
        if mapping_form is None and record.status == S.MAPPING and can_import:
            initial = {"record": record.pk, **(record.mapping or {})}
            initial["suppressed_values"] = ", ".join(initial.get("suppressed_values") or [])
            mapping_form = ImportMappingForm(initial=initial, columns=record.columns)
        layout, because = suppression_import_layout(record)
        c = record.counts or {}
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import of %(file)s") % {"file": record.file_name},
            "opts": self.opts,
            "record": record,
            "layout": layout,
            "because": because,
            "summary": suppression_import_summary(record) if record.counts else "",
            "tally": [
                (_("to add") if record.status != S.DONE else _("added"), c.get("added", 0)),
                (_("already suppressed"), c.get("already", 0)),
                (_("skipped: not marked as suppressed by the provider"), c.get("skipped", 0)),
                (_("rejected"), c.get("rejected", 0)),
                (_("dated at the import"), c.get("undated", 0)),
            ]
            if record.counts
            else [],
            "reasons": suppression_import_reasons(record),
            "working": record.status in (S.UPLOADED, S.PREVIEWING, S.IMPORTING),
            "can_confirm": record.status == S.PREVIEWED and can_import,
            "confirm_form": ImportConfirmForm(initial={"record": record.pk}),
            "mapping_form": mapping_form,
            "mapping_url": reverse("admin:compliance_suppressionimport_mapping", args=[record.pk]),
            "problems": record.problems[:200],
            "notices": record.notices[:200],
        }
        return TemplateResponse(
            request, "admin/compliance/suppressionimport/progress.html", context
        )


@admin.register(SuppressionMapping)
class SuppressionMappingAdmin(ServiceFormAdmin):
    """Saved column mappings for lists no known layout matches; added here or in an import's
    mapping step, chosen at upload."""

    add_form = SuppressionMappingForm
    list_display = (
        "name",
        "address_column",
        "status_column",
        "values",
        "date_column",
        "reason",
        "created_at",
    )
    search_fields = ("name",)
    readonly_fields = ("created_at", "by_user", "by_job")

    @admin.display(description=gettext_lazy("suppressed values"))
    def values(self, obj):
        return ", ".join(obj.suppressed_values)

    def has_change_permission(self, request, obj=None):
        # Imports on record keep the mapping they were read with; a new need is a new mapping.
        return False

    def get_fields(self, request, obj=None):
        if obj is None:
            return [
                "name",
                "address_column",
                "status_column",
                "suppressed_values_text",
                "date_column",
                "reason",
            ]
        return [
            "name",
            "address_column",
            "status_column",
            "suppressed_values",
            "date_column",
            "reason",
            "created_at",
            "by_user",
            "by_job",
        ]


@admin.register(PurgeReceipt)
class PurgeReceiptAdmin(RecordAdmin):
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
class RetentionAccountAdmin(RecordAdmin):
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
    actions = ["set_legal_hold", "release_legal_hold"]
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

    def _legal_hold(self, request, queryset, *, setting: bool):
        form = LegalHoldForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            by, now, changed = Actor.staff(request.user), timezone.now(), 0
            service = account_legal_hold_set if setting else account_legal_hold_release
            failed = None
            try:
                # All the selected accounts or none: a refusal rolls back those before it.
                with transaction.atomic():
                    for account in queryset:
                        failed = account
                        changed += service(
                            account=account, reason=form.cleaned_data["reason"], by=by, now=now
                        )
            except LegalHoldError as exc:
                self.message_user(
                    request,
                    _("Nothing was changed: %(account)s: %(error)s")
                    % {"account": failed, "error": exc},
                    messages.ERROR,
                )
                return None
            done = (
                _("Legal hold set on %(count)s account(s).")
                if setting
                else _("Legal hold released for %(count)s account(s).")
            )
            self.message_user(request, done % {"count": changed}, messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Set a legal hold") if setting else _("Release a legal hold"),
            "opts": self.opts,
            "form": form,
            "accounts": queryset,
            "action": "set_legal_hold" if setting else "release_legal_hold",
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
        return self._legal_hold(request, queryset, setting=True)

    @admin.action(description=gettext_lazy("Release the legal hold"), permissions=["legal_hold"])
    def release_legal_hold(self, request, queryset):
        return self._legal_hold(request, queryset, setting=False)
