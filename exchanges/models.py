"""The record of every CSV import a manager previewed, confirmed or had refused."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.problems import shown


class ImportStatus(models.TextChoices):
    # A large file is read for its preview, and written at its confirmation, by a worker.
    PREVIEWING = "previewing", _("Reading for preview")
    PREVIEWED = "previewed", _("Previewed (awaiting confirmation)")
    IMPORTING = "importing", _("Importing")
    CONFIRMED = "confirmed", _("Confirmed (written)")
    REFUSED = "refused", _("Refused (nothing written)")
    # Not confirmed in time (IMPORT_PREVIEW_EXPIRY_HOURS): its file is gone, nothing written.
    EXPIRED = "expired", _("Expired (not confirmed, nothing written)")


#: Previews that wait for their requester: the expiry job closes them when they are too old.
WAITING = (ImportStatus.PREVIEWING, ImportStatus.PREVIEWED)


class ImportRecord(models.Model):
    """One CSV file a manager uploaded: who, which file, what it would do or did, its errors."""

    at = models.DateTimeField(db_index=True, verbose_name=_("at"))
    by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("by"),
    )
    model = models.CharField(
        max_length=100,
        help_text=_("What was imported, e.g. accounts.account"),
        verbose_name=_("model"),
    )
    resource = models.CharField(max_length=100, verbose_name=_("resource"))
    file_name = models.CharField(max_length=255, verbose_name=_("file name"))
    file_size = models.PositiveBigIntegerField(default=0, verbose_name=_("file size"))
    status = models.CharField(
        max_length=12,
        choices=ImportStatus.choices,
        default=ImportStatus.PREVIEWED,
        verbose_name=_("status"),
    )
    rows_total = models.PositiveIntegerField(default=0, verbose_name=_("rows total"))
    rows_new = models.PositiveIntegerField(default=0, verbose_name=_("rows new"))
    rows_updated = models.PositiveIntegerField(default=0, verbose_name=_("rows updated"))
    rows_skipped = models.PositiveIntegerField(
        default=0, help_text=_("Unchanged rows."), verbose_name=_("rows skipped")
    )
    rows_errors = models.PositiveIntegerField(default=0, verbose_name=_("rows errors"))
    message = models.TextField(
        blank=True, help_text=_("Why the file was refused, if it was."), verbose_name=_("message")
    )
    # [{"line": 3, "key": "acme", "column": "username", "error": "...", "values": [[col, v]]}]
    row_errors = models.JSONField(default=list, blank=True, verbose_name=_("row errors"))
    # Digest of the affected rows' values at preview time; a confirm recomputes it and is
    # refused when the data changed in between.
    fingerprint = models.CharField(
        max_length=64, blank=True, editable=False, verbose_name=_("fingerprint")
    )
    # The previewed file's name in EXCHANGES_IMPORT_DIR, where it waits for its confirmation.
    stored_file = models.CharField(
        max_length=255, blank=True, editable=False, verbose_name=_("stored file")
    )
    confirmed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("confirmed at"))
    # Read (and written) by a worker: files above EXCHANGES_IMPORT_INLINE_MAX_BYTES.
    in_background = models.BooleanField(default=False, verbose_name=_("in the background"))
    # Rows read so far by the preview or the confirmation (its progress), of rows_total.
    rows_done = models.PositiveIntegerField(default=0, verbose_name=_("rows done"))
    # The first rows of the preview, what each would do, for the paginated preview page:
    # [{"line": 2, "key": "acme", "action": "update", "changes": [[col, old, new]],
    #   "errors": ["..."]}]. Bounded (EXCHANGES_PREVIEW_ROWS); the counts cover every row.
    preview_rows = models.JSONField(
        default=list, blank=True, editable=False, verbose_name=_("preview rows")
    )
    # When a preview expired unconfirmed (the expire_import_previews job).
    expired_at = models.DateTimeField(null=True, blank=True, verbose_name=_("expired at"))

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("CSV import")
        verbose_name_plural = _("CSV imports")
        permissions = [
            ("import_accounts", "Can import account details (CSV)"),
            ("export_accounts", "Can export accounts (CSV)"),
            ("import_catalogue", "Can import plans, add-ons and cancellation reasons (CSV)"),
            ("export_catalogue", "Can export plans, add-ons and cancellation reasons (CSV)"),
            ("export_cancellation_requests", "Can export cancellation requests (CSV)"),
            ("export_ledger", "Can export the ledger (CSV)"),
            ("export_job_runs", "Can export job runs (CSV)"),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.model}, {self.get_status_display().lower()})"

    @property
    def message_shown(self) -> str:
        """Why the file was refused, in the reader's language (kept in no language)."""
        return shown(self.message) if self.message else ""

    @property
    def progress_percent(self) -> int:
        if not self.rows_total:
            return 0
        return min(100, int(100 * self.rows_done / self.rows_total))

    @property
    def counts(self) -> str:
        return (
            f"{self.rows_total} rows: {self.rows_new} new, {self.rows_updated} updated, "
            f"{self.rows_skipped} unchanged, {self.rows_errors} with errors"
        )
