"""Suppressions (unsubscribes) kept apart from contacts, forever (R9); their lifting by opt-in,
hand-over exports (R10), imports of other providers' lists, and purge receipts (R7).

Design ("no edit, no delete" kept honest): the suppression table is an append-only *history*
of suppression events, not a table of current states. There is no unique key on
(account, normalised address) and nothing is ever merged in place:

- an unsubscribe, complaint, bounce or staff entry appends a row;
- an import appends a row only where it adds to the history (the address was not already
  suppressed at the row's date); "merging duplicates, keeping the earliest date" is therefore
  an insert of the earlier event, never an update of the later one;
- lifting is an `OptIn` row (its own append-only table) with evidence.

The state at any moment is derived: an address is suppressed at `t` when a suppression event
at or before `t` is later than every opt-in at or before `t` (an opt-in lifts the events up to
and including its own instant). The current list of an account (what an export hands over)
is, per address, the earliest suppression event after its last opt-in.

On PostgreSQL, triggers created by migration 0003 refuse UPDATE, DELETE and TRUNCATE of a
non-empty table on the suppression, opt-in, export and purge-receipt tables, so raw SQL cannot
get around the ORM's refusal either.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from core.models import AppendOnlyModel, ByFields


class SuppressionSource(models.TextChoices):
    UNSUBSCRIBE_LINK = "unsubscribe_link", "Unsubscribe link"
    STAFF = "staff", "Staff"
    IMPORT = "import", "Import"
    COMPLAINT = "complaint", "Complaint"
    BOUNCE = "bounce", "Bounce"


class Suppression(AppendOnlyModel, ByFields):
    """An address the account may no longer send to; never edited or deleted (R9, R12)."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="suppressions")
    address = models.CharField(max_length=320, help_text="The address as received")
    normalised = models.CharField(max_length=320, help_text="Match key: trimmed, lower-case, IDNA")
    source = models.CharField(max_length=20, choices=SuppressionSource.choices)
    at = models.DateTimeField()
    evidence = models.TextField(blank=True)
    # Imported rows point at their import (file, who, when); evidence then holds the line.
    # No index: nothing looks rows up by import, and a million-row import should not pay one.
    imported_in = models.ForeignKey(
        "SuppressionImport",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )

    class Meta:
        indexes = [
            # Covers the export: an index-only scan hands the rows over already in address and
            # date order, so the earliest event per address is found without a sort.
            models.Index(
                fields=["account", "normalised", "at", "id"],
                include=["source"],
                name="suppression_key_at_idx",
            ),
            # "Is this address suppressed anywhere?": the staff's search by address.
            models.Index(fields=["normalised"], name="suppression_address_idx"),
        ]
        permissions = [
            ("export_suppressions", "Can export an unsubscribe list for hand-over (R10)"),
            ("import_suppressions", "Can import unsubscribe lists of other providers"),
        ]

    def __str__(self) -> str:
        return f"{self.normalised} ({self.account})"


class OptInMethod(models.TextChoices):
    SIGNUP_FORM = "signup_form", "Sign-up form"
    DOUBLE_OPT_IN = "double_opt_in", "Double opt-in confirmation"
    WRITTEN_CONSENT = "written_consent", "Written consent"


class OptIn(AppendOnlyModel, ByFields):
    """An explicit new opt-in of an address, with its evidence: lifts earlier suppressions (R9)."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="optins")
    address = models.CharField(max_length=320, help_text="The address as received")
    normalised = models.CharField(max_length=320)
    at = models.DateTimeField(help_text="When the person opted in")
    method = models.CharField(max_length=20, choices=OptInMethod.choices)
    origin = models.CharField(
        max_length=500, help_text="From where: the form and IP, the confirmation link, the letter"
    )
    evidence = models.TextField(help_text="What proves the opt-in (reference, message, document)")
    recorded_at = models.DateTimeField()

    class Meta:
        verbose_name = "opt-in"
        indexes = [models.Index(fields=["account", "normalised", "at"], name="optin_key_at_idx")]

    def __str__(self) -> str:
        return f"opt-in of {self.normalised} ({self.account})"


class OptInConfirmation(ByFields):
    """A double opt-in under way: a suppressed address signed up through a form, was mailed a
    confirmation link, and (once clicked) confirmed it; only the click records the opt-in
    (SPEC "Explicit opt-in means the address's owner confirmed it").

    Operational record: the mail and the click are filled in as they happen; the evidence it
    leads to is the append-only ``OptIn`` it points at."""

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="+", verbose_name=_("account")
    )
    address = models.CharField(_("address"), max_length=320, help_text=_("The address as posted"))
    normalised = models.CharField(_("normalised address"), max_length=320)
    form_name = models.CharField(_("sign-up form"), max_length=200)
    form_key = models.CharField(_("form key"), max_length=40)
    posted_at = models.DateTimeField(_("posted at"))
    posted_ip = models.GenericIPAddressField(_("posted from"), null=True, blank=True)
    mail_sent_at = models.DateTimeField(_("confirmation mail sent at"), null=True, blank=True)
    mail_error = models.TextField(_("mail error"), blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmed_ip = models.GenericIPAddressField(_("confirmed from"), null=True, blank=True)
    optin = models.OneToOneField(
        OptIn,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="confirmation",
        verbose_name=_("opt-in recorded"),
    )

    class Meta:
        verbose_name = _("double opt-in confirmation")
        verbose_name_plural = _("double opt-in confirmations")
        ordering = ["-posted_at", "-id"]
        indexes = [
            models.Index(fields=["account", "normalised", "posted_at"], name="optinconf_key_idx")
        ]

    def __str__(self) -> str:
        return f"confirmation of {self.normalised} ({self.account})"


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV of addresses"
    MD5 = "md5", "MD5 of normalised addresses"
    SHA256 = "sha256", "SHA-256 of normalised addresses"


class SuppressionExport(AppendOnlyModel, ByFields):
    """One hand-over export of an account's unsubscribe list: who, for what, how many (R10)."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    purpose = models.TextField()
    format = models.CharField(max_length=10, choices=ExportFormat.choices)
    rows = models.PositiveBigIntegerField()
    complete = models.BooleanField(
        default=True, help_text="False when the download was interrupted before the last row"
    )

    class Meta:
        verbose_name = "suppression export"
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"export of {self.account} at {self.at:%Y-%m-%d %H:%M}"


class SuppressionImport(ByFields):
    """An unsubscribe list brought from another provider, with its preview, progress and result.

    Operational record (progress is updated while the file is read); what it added lives in
    the append-only suppression table."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        PREVIEWING = "previewing", "Reading for preview"
        PREVIEWED = "previewed", "Preview ready"
        IMPORTING = "importing", "Importing"
        DONE = "done", "Imported"
        REFUSED = "refused", "Refused"
        FAILED = "failed", "Failed"

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    file_name = models.CharField(max_length=300)
    stored_path = models.CharField(max_length=500, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.UPLOADED)
    in_background = models.BooleanField(default=False)
    bytes_done = models.PositiveBigIntegerField(default=0)
    rows_done = models.PositiveBigIntegerField(default=0)
    layout = models.CharField(max_length=80, blank=True, help_text="The kind of file recognised")
    counts = models.JSONField(default=dict, blank=True)
    problems = models.JSONField(default=list, blank=True, help_text="[line, reason] of bad rows")
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "suppression import"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name} for {self.account}"

    @property
    def progress_percent(self) -> int:
        if not self.size_bytes:
            return 0
        return min(100, int(100 * self.bytes_done / self.size_bytes))


class PurgeProgress(models.Model):
    """How far the purge of one account has got; makes a crashed purge resumable and its
    receipt's counts exact across runs."""

    account = models.OneToOneField(Account, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField()
    counts = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"purge of {self.account} in progress"


class PurgeReceipt(AppendOnlyModel, ByFields):
    """What the purge of an account deleted, when, by which run (R7)."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    started_at = models.DateTimeField()
    inactive_since = models.DateTimeField()
    counts = models.JSONField()
    run = models.CharField(max_length=120, blank=True, help_text="The job run that purged")

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"purge receipt of {self.account}"


class RetentionAccount(Account):
    """An account seen from retention (R7): when it may be purged, legal holds."""

    class Meta:
        proxy = True
        verbose_name = "account retention"
        verbose_name_plural = "account retention"
