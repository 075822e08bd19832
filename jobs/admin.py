from django.contrib import admin

from exchanges.admin import StreamingExportMixin
from jobs.models import JobRun
from jobs.resources import JobRunExport


@admin.register(JobRun)
class JobRunAdmin(StreamingExportMixin, admin.ModelAdmin):
    """Job runs are a record: read-only for everyone."""

    list_display = ("job", "as_of", "dry_run", "trigger", "outcome", "started_at", "duration")
    list_filter = ("job", "outcome", "trigger", "dry_run")
    date_hierarchy = "started_at"
    readonly_fields = (
        "job",
        "as_of",
        "dry_run",
        "trigger",
        "started_at",
        "finished_at",
        "outcome",
        "counts",
        "error",
        "worker",
    )
    show_full_result_count = False
    streaming_export = JobRunExport
    streaming_export_permission = "exchanges.export_job_runs"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
