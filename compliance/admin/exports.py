"""Hand-over exports of unsubscribe lists (R10): streamed, recorded, Compliance only."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _

from compliance.forms import (
    ExportForm,
)
from compliance.models import (
    SuppressionExport,
)
from compliance.services import (
    ExportRefused,
    suppression_export,
)
from core.actors import Actor
from core.admin import ReadOnlyAdmin


@admin.register(SuppressionExport)
class SuppressionExportAdmin(ReadOnlyAdmin):
    """The log of hand-over exports (R10), and the page that makes one."""

    change_list_template = "admin/compliance/suppressionexport/change_list.html"
    list_display = ("at", "account", "format", "rows", "hash_only", "complete", "by", "purpose")
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
