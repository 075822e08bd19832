from django.contrib import admin

from exchanges.admin import StreamingExportMixin
from jobs.models import JobBatch, JobRun
from jobs.resources import JobRunExport


class JobBatchInline(admin.TabularInline):
    """The run's batches: which worker ran each, how often it was started, what it did."""

    model = JobBatch
    fields = (
        "number",
        "low",
        "high",
        "items",
        "state",
        "attempts",
        "worker",
        "started_at",
        "finished_at",
        "counts",
        "error",
    )
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(JobRun)
class JobRunAdmin(StreamingExportMixin, admin.ModelAdmin):
    """Job runs are a record: read-only for everyone."""

    inlines = [JobBatchInline]
    list_display = (
        "job",
        "as_of",
        "dry_run",
        "trigger",
        "outcome",
        "batches",
        "started_at",
        "duration",
    )
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
        "slot",
        "batches",
        "queue",
    )
    show_full_result_count = False
    streaming_export = JobRunExport
    streaming_export_permission = "exchanges.export_job_runs"

    # Every staff role reads the runs (the dashboard links each job to them); nobody edits.
    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
