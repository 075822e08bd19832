"""CSV import and export in the admin: the mixins the accounts, billing and jobs admins use,
and the read-only list of imports with their row errors to download.

An import is a preview then a confirmation. The preview reads the file, refuses it as a whole
when it cannot be imported (size, encoding, key column, repeated keys, protected columns),
shows what each row would do, stores the file and records the import with a fingerprint of the
rows it touches. The confirmation writes only if those rows are still as previewed."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop
from django.views.decorators.http import require_POST
from import_export.admin import ExportMixin, ImportExportMixinBase, ImportMixin
from import_export.formats import base_formats

from core.actors import Actor
from core.previews import preview_expires_at
from core.problems import Problem, shown
from core.validators import WholeNumberField
from exchanges import conf
from exchanges.exports import Column, StreamingExport, stream_csv
from exchanges.files import keep_upload
from exchanges.models import ImportRecord, ImportStatus
from exchanges.registry import resource_register
from exchanges.runs import NotConfirmable, confirm_import, preview_import, rows_done
from exchanges.runs import refusal as refusal_of
from exchanges.services import import_record_open
from exchanges.tasks import import_apply, import_preview
from exchanges.uploads import UploadRefused, size_text

CHANGE_LIST_TEMPLATE = "admin/exchanges/change_list.html"


class ConfirmImportForm(forms.Form):
    """The confirmation names the recorded preview, nothing else: the file waits server-side."""

    import_record = WholeNumberField(widget=forms.HiddenInput)


def describe(counts: dict[str, int]) -> str:
    return (
        _(
            "%(total)s row(s): %(updated)s updated, %(new)s new, %(skipped)s unchanged, "
            "%(errors)s with errors"
        )
        % counts
    )


def filtered_queryset(model_admin: admin.ModelAdmin, request):
    """The changelist's rows under the request's filters, search and ordering, without
    counting or paging them (as import-export's own export does)."""

    class FilteredChangeList(ChangeList):
        def get_filters_params(self, params=None):
            result = super().get_filters_params(params)
            result.pop("_changelist_filters", None)
            return result

        def get_results(self, request):
            pass  # no count, no page: the export reads the whole filtered queryset

    list_display = model_admin.get_list_display(request)
    cl = FilteredChangeList(
        request,
        model_admin.model,
        list_display,
        model_admin.get_list_display_links(request, list_display),
        model_admin.get_list_filter(request),
        model_admin.date_hierarchy,
        model_admin.get_search_fields(request),
        model_admin.get_list_select_related(request),
        model_admin.list_per_page,
        model_admin.list_max_show_all,
        model_admin.list_editable,
        model_admin,
        model_admin.sortable_by,
        model_admin.search_help_text,
    )
    return cl.queryset


class CsvImportMixin(ImportMixin):
    """Preview-then-confirm CSV import, recorded, for managers holding ``import_permission``.

    The preview page shows the counts and the first rows, a page at a time; a file above
    EXCHANGES_IMPORT_INLINE_MAX_BYTES is read and written by a worker while the page shows
    its progress. Only the uploader confirms, within IMPORT_PREVIEW_EXPIRY_HOURS."""

    import_permission = ""
    import_formats = [base_formats.CSV]
    import_export_change_list_template = CHANGE_LIST_TEMPLATE
    import_template_name = "admin/exchanges/import.html"
    confirm_form_class = ConfirmImportForm
    # Every import is in ImportRecord; account changes are also on each account's timeline.
    skip_admin_log = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The worker that previews a large file finds its resource here (no request there).
        for resource_class in self.resource_classes:
            resource_register(self.model._meta.label_lower, resource_class)

    def has_import_permission(self, request) -> bool:
        return bool(self.import_permission) and request.user.has_perm(self.import_permission)

    def get_import_resource_kwargs(self, request, **kwargs):
        return {"user": request.user, "now": timezone.now()}

    def get_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        return [
            path(
                "import/<int:import_id>/",
                self.admin_site.admin_view(self.import_preview_view),
                name="{}_{}_import_preview".format(*info),
            ),
            *super().get_urls(),
        ]

    def _import_url(self) -> str:
        return reverse(
            "admin:{}_{}_import".format(*self.get_model_info()), current_app=self.admin_site.name
        )

    def _preview_url(self, record_id: int) -> str:
        return reverse(
            "admin:{}_{}_import_preview".format(*self.get_model_info()),
            args=[record_id],
            current_app=self.admin_site.name,
        )

    def _render(self, request, form=None, record: ImportRecord | None = None):
        resource_classes = self.get_import_resource_classes(request)
        context = dict(self.admin_site.each_context(request))
        context.update(
            title=_("Import %(things)s (CSV)") % {"things": self.model._meta.verbose_name_plural},
            opts=self.model._meta,
            import_error_display=self.import_error_display,
            fields_list=[
                (r.get_display_name(), [r.key_column(), *r.importable_columns()])
                for r in resource_classes
            ],
            key_columns=[r.key_column() for r in resource_classes],
        )
        if record is not None:
            context.update(self._preview_context(request, record))
        if form is not None:
            context.update(form=form, media=self.media + form.media)
        else:
            context.update(media=self.media)
        request.current_app = self.admin_site.name
        return TemplateResponse(request, [self.import_template_name], context)

    def _preview_context(self, request, record: ImportRecord) -> dict:
        now = timezone.now()
        counts = {
            "total": record.rows_total,
            "new": record.rows_new,
            "updated": record.rows_updated,
            "skipped": record.rows_skipped,
            "errors": record.rows_errors,
        }
        working = record.status in (ImportStatus.PREVIEWING, ImportStatus.IMPORTING)
        paginator = Paginator(record.preview_rows, conf.preview_page_size())
        page = paginator.get_page(request.GET.get("page"))
        refusal = refusal_of(record, by=Actor.staff(request.user), now=now)
        context = {
            "record": record,
            "counts": counts if record.status != ImportStatus.PREVIEWING else None,
            "working": working,
            "rows_done": rows_done(record),
            "percent": (
                min(100, int(100 * rows_done(record) / record.rows_total))
                if record.rows_total
                else 0
            ),
            "page": page,
            # The rows' errors are kept in no language: shown in the reader's.
            "rows": [
                {**row, "errors": [shown(e) for e in row.get("errors") or []]}
                for row in page.object_list
            ],
            "preview_url": self._preview_url(record.pk),
            "rows_shown_of": len(record.preview_rows),
            "refusal": refusal if record.status == ImportStatus.PREVIEWED else "",
            "expires_at": preview_expires_at(record.at),
        }
        if record.status == ImportStatus.PREVIEWED and not refusal:
            context["confirm_form"] = self.confirm_form_class(initial={"import_record": record.pk})
        return context

    def import_action(self, request, **kwargs):
        if not self.has_import_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return self._render(request, self.create_import_form(request))
        form = self.create_import_form(request)
        if not form.is_valid():
            return self._render(request, form)
        resource_class = self.choose_import_resource_class(form, request)
        upload = form.cleaned_data["import_file"]
        by, now = Actor.staff(request.user), timezone.now()
        size = upload.size or 0
        record_fields = {
            "by": by,
            "now": now,
            "model": self.model._meta.label_lower,
            "resource": resource_class.__name__,
            "file_name": upload.name,
            "file_size": size,
        }
        limit = conf.upload_max_bytes()
        if size > limit:
            exc = UploadRefused(
                Problem(
                    gettext_noop(
                        "the file is %(size)s; the admin accepts files up to %(limit)s "
                        "(ADMIN_UPLOAD_MAX_BYTES). Split it into smaller files"
                    ),
                    size=size_text(size),
                    limit=size_text(limit),
                )
            )
            record = import_record_open(
                **record_fields, status=ImportStatus.REFUSED, message=exc.problem
            )
            form.add_error("import_file", _("Nothing was imported: %(error)s.") % {"error": exc})
            return self._render(request, form, record)
        in_background = size > conf.import_inline_max_bytes()
        record = import_record_open(
            **record_fields,
            status=ImportStatus.PREVIEWING,
            stored_file=keep_upload(upload.chunks(), upload.name or "upload.csv"),
            in_background=in_background,
        )
        if in_background:
            record_id = record.pk
            transaction.on_commit(lambda: import_preview.delay(record_id))
            return HttpResponseRedirect(self._preview_url(record.pk))
        record = preview_import(record_id=record.pk, now=now)
        if record.status != ImportStatus.REFUSED:
            return self._render(request, None, record)
        if not record.rows_errors:
            form.add_error(
                "import_file",
                _("Nothing was imported: %(error)s.") % {"error": record.message_shown},
            )
        return self._render(request, form, record)

    def import_preview_view(self, request, import_id: int):
        """A preview's page: its progress while a worker reads the file, then its counts and
        its first rows, a page at a time, and the confirmation for its requester."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        record = get_object_or_404(
            ImportRecord.objects.select_related("by_user"),
            pk=import_id,
            model=self.model._meta.label_lower,
        )
        return self._render(request, None, record)

    @method_decorator(require_POST)
    def process_import(self, request, **kwargs):
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = self.confirm_form_class(request.POST)
        if not form.is_valid():
            messages.error(request, _("That confirmation names no preview; upload the file again."))
            return HttpResponseRedirect(self._import_url())
        try:
            record = confirm_import(
                record_id=form.cleaned_data["import_record"],
                model=self.model._meta.label_lower,
                by=Actor.staff(request.user),
                now=timezone.now(),
            )
        except NotConfirmable as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(self._import_url())
        if record.status == ImportStatus.IMPORTING:
            record_id = record.pk
            transaction.on_commit(lambda: import_apply.delay(record_id))
            messages.info(
                request, _("The import runs in the background; this page follows its progress.")
            )
            return HttpResponseRedirect(self._preview_url(record.pk))
        counts = {
            "total": record.rows_total,
            "new": record.rows_new,
            "updated": record.rows_updated,
            "skipped": record.rows_skipped,
            "errors": record.rows_errors,
        }
        if record.status != ImportStatus.CONFIRMED:
            if record.rows_errors:
                messages.error(
                    request,
                    _(
                        "Nothing was imported from %(file)s: %(counts)s. Download the row "
                        "errors from the CSV imports list."
                    )
                    % {"file": record.file_name, "counts": describe(counts)},
                )
            else:
                messages.error(
                    request,
                    _(
                        "Nothing was imported from %(file)s: some of its %(things)s were "
                        "changed after the preview. Upload the file again for a new preview."
                    )
                    % {
                        "file": record.file_name,
                        "things": self.model._meta.verbose_name_plural,
                    },
                )
            return HttpResponseRedirect(self._import_url())
        messages.success(
            request,
            _("Imported %(file)s: %(counts)s.")
            % {"file": record.file_name, "counts": describe(counts)},
        )
        return HttpResponseRedirect(
            reverse(
                "admin:{}_{}_changelist".format(*self.get_model_info()),
                current_app=self.admin_site.name,
            )
        )


class CsvExportMixin(ExportMixin):
    """import-export's own export (CSV only) for small catalogues."""

    export_permission = ""
    export_formats = [base_formats.CSV]
    import_export_change_list_template = CHANGE_LIST_TEMPLATE
    to_encoding = "utf-8-sig"

    def has_export_permission(self, request) -> bool:
        return bool(self.export_permission) and request.user.has_perm(self.export_permission)


class StreamingExportMixin(ImportExportMixinBase):
    """ "Export filtered list (CSV)": the changelist's current rows, streamed."""

    streaming_export: type[StreamingExport] | None = None
    streaming_export_permission = ""
    import_export_change_list_template = CHANGE_LIST_TEMPLATE

    def has_streaming_export_permission(self, request) -> bool:
        return bool(self.streaming_export_permission) and request.user.has_perm(
            self.streaming_export_permission
        )

    def get_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        return [
            path(
                "export-csv/",
                self.admin_site.admin_view(self.streaming_export_view),
                name="{}_{}_export_csv".format(*info),
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "has_streaming_export_permission": self.has_streaming_export_permission(request),
        }
        return super().changelist_view(request, extra_context)

    def streaming_export_view(self, request):
        if not (
            self.has_streaming_export_permission(request)
            and self.has_view_or_change_permission(request)
        ):
            raise PermissionDenied
        return stream_csv(
            export=self.streaming_export(),
            queryset=filtered_queryset(self, request),
            now=timezone.now(),
        )


# --- the record of imports ---------------------------------------------------------------------


class RowErrorsExport(StreamingExport):
    filename = "row-errors"


@admin.register(ImportRecord)
class ImportRecordAdmin(admin.ModelAdmin):
    """Every import, read-only: who, which file, what it did, and its row errors."""

    list_display = (
        "at",
        "by_user",
        "model",
        "file_name",
        "status",
        "rows_total",
        "rows_new",
        "rows_updated",
        "rows_skipped",
        "rows_errors",
        "errors_download",
        "preview_link",
    )
    list_filter = ("status", "model")
    list_select_related = ("by_user",)
    search_fields = ("file_name", "=by_user__username")
    date_hierarchy = "at"
    fields = (
        "at",
        "by_user",
        "model",
        "resource",
        "file_name",
        "file_size",
        "status",
        "confirmed_at",
        "expired_at",
        "in_background",
        "rows_total",
        "rows_new",
        "rows_updated",
        "rows_skipped",
        "rows_errors",
        "message_shown",
        "errors_download",
        "preview_link",
    )
    readonly_fields = fields
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path(
                "<int:pk>/row-errors.csv",
                self.admin_site.admin_view(self.row_errors_view),
                name="exchanges_importrecord_row_errors",
            ),
            *super().get_urls(),
        ]

    @admin.display(description=gettext_lazy("message"))
    def message_shown(self, obj):
        return obj.message_shown or "—"

    @admin.display(description=gettext_lazy("row errors"))
    def errors_download(self, obj):
        if not obj.row_errors:
            return "—"
        url = reverse("admin:exchanges_importrecord_row_errors", args=[obj.pk])
        return format_html(
            '<a href="{}">{}</a>',
            url,
            _("download row errors (CSV, %(count)s)") % {"count": len(obj.row_errors)},
        )

    @admin.display(description=gettext_lazy("preview"))
    def preview_link(self, obj):
        try:
            url = reverse(
                "admin:{}_import_preview".format(obj.model.replace(".", "_")), args=[obj.pk]
            )
        except NoReverseMatch:
            return "—"
        return format_html('<a href="{}">{}</a>', url, _("preview"))

    def row_errors_view(self, request, pk):
        if not self.has_view_permission(request):
            raise PermissionDenied
        record = get_object_or_404(ImportRecord, pk=pk)
        value_columns: list[str] = []
        for error in record.row_errors:
            for column, _value in error.get("values") or []:
                if column not in value_columns:
                    value_columns.append(column)
        export = RowErrorsExport()
        export.filename = f"row-errors-{record.pk}"
        export.columns = (
            Column("line", lambda e: e.get("line")),
            Column("key", lambda e: e.get("key")),
            Column("column", lambda e: e.get("column")),
            Column("error", lambda e: shown(e.get("error") or "")),
            *(Column(c, lambda e, c=c: dict(e.get("values") or []).get(c)) for c in value_columns),
        )
        return stream_csv(export=export, queryset=_ListRows(record.row_errors), now=record.at)


class _ListRows(list):
    """A list standing in for a queryset in a streaming export."""

    def iterator(self, chunk_size=None):
        return iter(self)
