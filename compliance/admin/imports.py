"""Imports of other providers' unsubscribe lists: upload, recognised layout or the mapping
step, preview, confirm; large files in a worker with progress; saved column mappings."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export.admin import ImportMixin

from compliance import conf
from compliance.forms import (
    ImportConfirmForm,
    ImportMappingForm,
    ImportUploadForm,
    SuppressionMappingForm,
)
from compliance.layouts import FileRefused
from compliance.models import (
    SuppressionImport,
    SuppressionMapping,
)
from compliance.services import (
    suppression_import_confirm,
    suppression_import_map,
    suppression_import_preview,
    suppression_import_start,
)
from compliance.services.import_runs import (
    suppression_import_error,
    suppression_import_layout,
    suppression_import_lines,
    suppression_import_reasons,
    suppression_import_refusal,
    suppression_import_summary,
)
from compliance.tasks import import_apply, import_preview
from core.actors import Actor
from core.admin import ReadOnlyAdmin, ServiceFormAdmin
from core.previews import preview_expires_at


@admin.register(SuppressionImport)
class SuppressionImportAdmin(ImportMixin, ReadOnlyAdmin):
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
    # Problems are kept in no language (a worker may have found them): shown translated.
    exclude = ("error", "problems", "notices")
    readonly_fields = ("error_shown", "problems_shown", "notices_shown")

    @admin.display(description=gettext_lazy("error"))
    def error_shown(self, obj):
        return suppression_import_error(obj) or "—"

    @admin.display(description=gettext_lazy("problems"))
    def problems_shown(self, obj):
        return _lines(obj.problems) or "—"

    @admin.display(description=gettext_lazy("notices"))
    def notices_shown(self, obj):
        return _lines(obj.notices) or "—"

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
            SuppressionImport.Status.EXPIRED,
        ):
            return suppression_import_error(obj)
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
        try:
            record = suppression_import_confirm(
                record_id=record.pk, by=Actor.staff(request.user), now=timezone.now()
            )
        except FileRefused as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(self._progress_url(record.pk))
        if record.status == SuppressionImport.Status.PREVIEWED and record.in_background:
            record_id = record.pk
            transaction.on_commit(lambda: import_apply.delay(record_id))
            messages.info(request, _("The import runs in the background; this page follows it."))
        else:
            level = (
                messages.SUCCESS
                if record.status == SuppressionImport.Status.DONE
                else messages.ERROR
            )
            messages.add_message(
                request,
                level,
                suppression_import_error(record)
                or f"{record.file_name}: {suppression_import_summary(record)}",
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
        refusal = ""
        if record.status == S.PREVIEWED and can_import:
            refusal = suppression_import_refusal(
                record, by=Actor.staff(request.user), now=timezone.now()
            )
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
            "can_confirm": record.status == S.PREVIEWED and can_import and not refusal,
            "refusal": refusal,
            "expires_at": preview_expires_at(record.created_at),
            "confirm_form": ImportConfirmForm(initial={"record": record.pk}),
            "mapping_form": mapping_form,
            "mapping_url": reverse("admin:compliance_suppressionimport_mapping", args=[record.pk]),
            "error": suppression_import_error(record),
            "problems": suppression_import_lines(record.problems[:200]),
            "notices": suppression_import_lines(record.notices[:200]),
        }
        return TemplateResponse(
            request, "admin/compliance/suppressionimport/progress.html", context
        )


def _lines(entries: list) -> str:
    lines = suppression_import_lines(entries[:200])
    if not lines:
        return ""
    shown = format_html_join("\n", "{}: {}<br>", lines)
    return shown + format_html("{}", "…") if len(entries) > 200 else shown


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
