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
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from import_export.admin import ExportMixin, ImportExportMixinBase, ImportMixin
from import_export.formats import base_formats
from import_export.results import Result

from core.actors import Actor
from core.validators import WholeNumberField
from exchanges import conf
from exchanges.exports import Column, StreamingExport, stream_csv
from exchanges.models import ImportRecord, ImportStatus
from exchanges.resources import ExchangeResource, row_errors
from exchanges.services import import_record_close, import_record_open
from exchanges.uploads import UploadRefused, parse_csv, read_csv_upload

CHANGE_LIST_TEMPLATE = "admin/exchanges/change_list.html"


class ConfirmImportForm(forms.Form):
    """The confirmation names the recorded preview, nothing else: the file waits server-side."""

    import_record = WholeNumberField(widget=forms.HiddenInput)


def result_counts(result: Result) -> dict[str, int]:
    totals = result.totals
    return {
        "total": result.total_rows,
        "new": totals.get("new", 0),
        "updated": totals.get("update", 0),
        "skipped": totals.get("skip", 0),
        "errors": totals.get("error", 0) + totals.get("invalid", 0) + len(result.base_errors),
    }


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
    """Preview-then-confirm CSV import, recorded, for managers holding ``import_permission``."""

    import_permission = ""
    import_formats = [base_formats.CSV]
    import_export_change_list_template = CHANGE_LIST_TEMPLATE
    import_template_name = "admin/exchanges/import.html"
    confirm_form_class = ConfirmImportForm
    # Every import is in ImportRecord; account changes are also on each account's timeline.
    skip_admin_log = True

    def has_import_permission(self, request) -> bool:
        return bool(self.import_permission) and request.user.has_perm(self.import_permission)

    def get_import_resource_kwargs(self, request, **kwargs):
        return {"user": request.user, "now": timezone.now()}

    def _resource_class(self, request, name: str) -> type[ExchangeResource]:
        for resource_class in self.get_import_resource_classes(request):
            if resource_class.__name__ == name:
                return resource_class
        raise PermissionDenied

    def _render(self, request, form, **context):
        resource_classes = self.get_import_resource_classes(request)
        context.update(self.admin_site.each_context(request))
        context.update(
            title=_("Import %(things)s (CSV)") % {"things": self.model._meta.verbose_name_plural},
            form=form,
            opts=self.model._meta,
            media=self.media + form.media,
            import_error_display=self.import_error_display,
            fields_list=[
                (r.get_display_name(), [r.key_column(), *r.importable_columns()])
                for r in resource_classes
            ],
            key_columns=[r.key_column() for r in resource_classes],
        )
        request.current_app = self.admin_site.name
        return TemplateResponse(request, [self.import_template_name], context)

    def import_action(self, request, **kwargs):
        if not self.has_import_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return self._render(request, self.create_import_form(request))
        form = self.create_import_form(request)
        if not form.is_valid():
            return self._render(request, form)
        resource = self.choose_import_resource_class(form, request)(
            **self.get_import_resource_kwargs(request)
        )
        upload = form.cleaned_data["import_file"]
        by, now = Actor.staff(request.user), timezone.now()
        record_fields = {
            "by": by,
            "now": now,
            "model": self.model._meta.label_lower,
            "resource": type(resource).__name__,
            "file_name": upload.name,
            "file_size": upload.size or 0,
        }
        try:
            parsed = read_csv_upload(
                upload=upload, key_column=resource.key_column(), max_bytes=conf.upload_max_bytes()
            )
            resource.check_file(parsed)
        except UploadRefused as exc:
            record = import_record_open(
                **record_fields,
                status=ImportStatus.REFUSED,
                message=str(exc),
                row_errors=exc.row_errors,
            )
            form.add_error("import_file", _("Nothing was imported: %(error)s.") % {"error": exc})
            return self._render(request, form, record=record)

        result = resource.import_data(
            parsed.dataset,
            dry_run=True,
            raise_errors=False,
            file_name=parsed.name,
            user=request.user,
        )
        counts = result_counts(result)
        errors = row_errors(result, parsed, resource.key_column())
        if counts["errors"]:
            record = import_record_open(
                **record_fields,
                status=ImportStatus.REFUSED,
                counts=counts,
                message=f"{counts['errors']} row(s) have errors; fix them and upload the "
                "file again (nothing was written)",
                row_errors=errors,
            )
            return self._render(request, form, result=result, record=record, counts=counts)

        storage = self.get_tmp_storage_class()(
            encoding=None, read_mode="rb", **self.get_tmp_storage_class_kwargs()
        )
        storage.save(parsed.raw)
        record = import_record_open(
            **record_fields,
            status=ImportStatus.PREVIEWED,
            counts=counts,
            fingerprint=resource.fingerprint(parsed.keys),
            stored_file=str(storage.name).rsplit("/", 1)[-1],
        )
        confirm_form = self.confirm_form_class(initial={"import_record": record.pk})
        return self._render(
            request, form, result=result, record=record, counts=counts, confirm_form=confirm_form
        )

    @method_decorator(require_POST)
    def process_import(self, request, **kwargs):
        if not self.has_import_permission(request):
            raise PermissionDenied
        import_url = reverse(
            "admin:{}_{}_import".format(*self.get_model_info()), current_app=self.admin_site.name
        )
        form = self.confirm_form_class(request.POST)
        if not form.is_valid():
            messages.error(request, _("That confirmation names no preview; upload the file again."))
            return HttpResponseRedirect(import_url)
        now = timezone.now()
        with transaction.atomic():
            record = (
                ImportRecord.objects.select_for_update()
                .filter(
                    pk=form.cleaned_data["import_record"],
                    by_user=request.user,
                    model=self.model._meta.label_lower,
                )
                .first()
            )
            if record is None or record.status != ImportStatus.PREVIEWED:
                state = record.get_status_display().lower() if record else _("not your preview")
                messages.error(
                    request,
                    _(
                        "Nothing was imported: that preview is %(state)s. Upload the file again "
                        "for a new preview."
                    )
                    % {"state": state},
                )
                return HttpResponseRedirect(import_url)
            resource = self._resource_class(request, record.resource)(
                **self.get_import_resource_kwargs(request)
            )
            storage = self.get_tmp_storage_class()(
                name=record.stored_file,
                encoding=None,
                read_mode="rb",
                **self.get_tmp_storage_class_kwargs(),
            )
            parsed = parse_csv(
                raw=storage.read(), name=record.file_name, key_column=resource.key_column()
            )
            if resource.fingerprint(parsed.keys, lock=True) != record.fingerprint:
                import_record_close(
                    record=record,
                    now=now,
                    status=ImportStatus.REFUSED,
                    message="the data changed after the preview; nothing was imported",
                )
                _remove(storage)
                messages.error(
                    request,
                    _(
                        "Nothing was imported from %(file)s: some of its %(things)s were changed "
                        "after the preview. Upload the file again for a new preview."
                    )
                    % {
                        "file": record.file_name,
                        "things": self.model._meta.verbose_name_plural,
                    },
                )
                return HttpResponseRedirect(import_url)
            result = resource.import_data(
                parsed.dataset,
                dry_run=False,
                raise_errors=False,
                use_transactions=True,
                file_name=record.file_name,
                user=request.user,
            )
            counts = result_counts(result)
            failed = bool(counts["errors"])
            import_record_close(
                record=record,
                now=now,
                status=ImportStatus.REFUSED if failed else ImportStatus.CONFIRMED,
                counts=counts,
                message="errors at confirmation; nothing was imported" if failed else "",
                row_errors=row_errors(result, parsed, resource.key_column()) if failed else None,
            )
        _remove(storage)
        if failed:
            messages.error(
                request,
                _(
                    "Nothing was imported from %(file)s: %(counts)s. Download the row errors "
                    "from the CSV imports list."
                )
                % {"file": record.file_name, "counts": describe(counts)},
            )
            return HttpResponseRedirect(import_url)
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


def _remove(storage) -> None:
    try:
        storage.remove()
    except OSError:
        pass  # a temporary file already gone is no reason to fail the import


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
        "rows_total",
        "rows_new",
        "rows_updated",
        "rows_skipped",
        "rows_errors",
        "message",
        "errors_download",
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
            Column("error", lambda e: e.get("error")),
            *(Column(c, lambda e, c=c: dict(e.get("values") or []).get(c)) for c in value_columns),
        )
        return stream_csv(export=export, queryset=_ListRows(record.row_errors), now=record.at)


class _ListRows(list):
    """A list standing in for a queryset in a streaming export."""

    def iterator(self, chunk_size=None):
        return iter(self)
