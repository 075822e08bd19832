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

import operator
from functools import reduce
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from compliance.addresses import ERASED_FROM, ERASED_TO
from core.indexes import HashIndex
from core.models import AppendOnlyModel, ByFields, KeptModel


class SuppressionSource(models.TextChoices):
    UNSUBSCRIBE_LINK = "unsubscribe_link", _("Unsubscribe link")
    STAFF = "staff", _("Staff")
    IMPORT = "import", _("Import")
    # A mail provider's webhook (api.webhooks): the provider's event is the evidence.
    COMPLAINT = "complaint", _("Complaint")
    BOUNCE = "bounce", _("Bounce")
    # The sending platform's record API: List-Unsubscribe mails and one-click posts it received.
    API = "api", _("Sending platform")
    # An erasure request: the person's data went, the promise not to mail stays.
    ERASURE = "erasure", _("Erasure request")


# How each source is stored: one letter. The history holds hundreds of millions of rows, and
# the source is in the covering index too (suppression_key_at_idx): "unsubscribe_link" cost
# 17 bytes a row twice over, its letter 2. The application keeps the words
# (``SuppressionSourceField`` spells them at the database's door); raw SQL that reads or
# writes the column spells them with ``SOURCE_CODES`` / ``SOURCE_WORDS``.
SOURCE_CODES: dict[str, str] = {
    SuppressionSource.UNSUBSCRIBE_LINK: "l",
    SuppressionSource.STAFF: "s",
    SuppressionSource.IMPORT: "i",
    SuppressionSource.COMPLAINT: "c",
    SuppressionSource.BOUNCE: "b",
    SuppressionSource.API: "a",
    SuppressionSource.ERASURE: "e",
}
SOURCE_WORDS: dict[str, str] = {code: str(word) for word, code in SOURCE_CODES.items()}


class SuppressionSourceField(models.CharField):
    """A suppression's source: a ``SuppressionSource`` word in Python (forms, filters, the
    admin, the API), its one-letter code (``SOURCE_CODES``) in the database. A row written
    before the codes (migration 0017 recodes them in batches) reads as its word too."""

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return SOURCE_CODES.get(value, value)

    def from_db_value(self, value, expression, connection):
        return SOURCE_WORDS.get(value, value)


class SuppressionReason(models.TextChoices):
    """Why an address may no longer be mailed. One letter in the database: the history holds
    hundreds of millions of rows. `token` is the word exports, the API and webhooks use."""

    UNSUBSCRIBE = "u", _("Unsubscribe")
    HARD_BOUNCE = "b", _("Hard bounce")
    COMPLAINT = "c", _("Complaint")
    MANUAL = "m", _("Manual")
    ERASURE = "e", _("Erasure")

    @property
    def token(self) -> str:
        """The reason as a word: unsubscribe, hard_bounce, complaint, manual, erasure."""
        return self.name.lower()

    @classmethod
    def from_token(cls, token: str) -> SuppressionReason | None:
        return {member.token: member for member in cls}.get(token.strip().lower())


# The reason a source implies; an import carries the reason of each row it read.
SOURCE_REASON = {
    SuppressionSource.UNSUBSCRIBE_LINK: SuppressionReason.UNSUBSCRIBE,
    SuppressionSource.STAFF: SuppressionReason.MANUAL,
    SuppressionSource.IMPORT: SuppressionReason.UNSUBSCRIBE,
    SuppressionSource.COMPLAINT: SuppressionReason.COMPLAINT,
    SuppressionSource.BOUNCE: SuppressionReason.HARD_BOUNCE,
    SuppressionSource.API: SuppressionReason.UNSUBSCRIBE,
    SuppressionSource.ERASURE: SuppressionReason.ERASURE,
}

# The reasons few events carry, beside unsubscribes and hard bounces: the lists of these are
# read through an index of their own (suppression_rare_reason_idx).
RARE_REASONS = [SuppressionReason.COMPLAINT, SuppressionReason.MANUAL, SuppressionReason.ERASURE]

# The sources whose every row carries the reason the source implies (a database constraint
# holds them to it, so a list of one of these sources is the list of its reason, read through
# the reason's index); an import and the sending platform's record API carry each row's own.
FIXED_REASON: dict[SuppressionSource, SuppressionReason] = {
    source: reason
    for source, reason in SOURCE_REASON.items()
    if source not in (SuppressionSource.IMPORT, SuppressionSource.API)
}


class Suppression(AppendOnlyModel, ByFields):
    """An address the account may no longer send to; never edited or deleted (R9, R12)."""

    # No index of its own: suppression_key_at_idx leads with the account.
    account = models.ForeignKey(
        Account,
        on_delete=models.PROTECT,
        related_name="suppressions",
        db_index=False,
        verbose_name=_("account"),
    )
    # Almost every suppression is recorded by a job or a customer's click: the index (for the
    # PROTECT check when a user is deleted) holds only the rows staff entered.
    by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        verbose_name=_("entered by"),
    )
    # The address as received, kept only where it differs from its key (capitals, spaces,
    # a Unicode domain): most arrive as their key already, and a second copy of the address
    # was a sixth of the row. Read it as ``address`` (here) or ``address_sql`` (in SQL).
    received = models.CharField(
        max_length=320,
        null=True,
        blank=True,
        db_column="address",
        help_text=_("The address as received, where it differs from its normalised form"),
        verbose_name=_("address as received"),
    )
    normalised = models.CharField(
        max_length=320,
        help_text=_("Match key: trimmed, lower-case, IDNA"),
        verbose_name=_("normalised"),
    )
    source = SuppressionSourceField(
        max_length=20, choices=SuppressionSource.choices, verbose_name=_("source")
    )
    # Why (a closed choice, one letter); the provider's own words, if any, are in evidence.
    reason = models.CharField(
        max_length=1, choices=SuppressionReason.choices, verbose_name=_("reason")
    )
    at = models.DateTimeField(verbose_name=_("at"))
    evidence = models.TextField(blank=True, verbose_name=_("evidence"))
    # Imported rows point at their import (file, who, when); evidence then holds the line.
    # No index: nothing looks rows up by import, and a million-row import should not pay one.
    imported_in = models.ForeignKey(
        "SuppressionImport",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        verbose_name=_("imported in"),
    )

    class Meta:
        verbose_name = _("suppression")
        verbose_name_plural = _("suppressions")
        indexes = [
            # Covers the export: an index-only scan hands the rows over already in address and
            # date order, so the earliest event per address is found without a sort.
            models.Index(
                fields=["account", "normalised", "at", "id"],
                include=["source", "reason"],
                name="suppression_key_at_idx",
            ),
            # "Is this address suppressed anywhere?": the staff's search by address and the
            # erasure's redaction, both an equality: a hash index keeps a 4-byte code a row,
            # not the whole address a B-tree keeps.
            HashIndex(fields=["normalised"], name="suppression_address_hash_idx"),
            # The erased keys ("sha256:…") of every account, one range, for the list of lifted
            # events (compliance.selectors.suppressions_lifted), which the hash index cannot
            # give: partial, so it holds the few erased rows only.
            models.Index(
                fields=["normalised"],
                condition=models.Q(normalised__gte=ERASED_FROM, normalised__lt=ERASED_TO),
                name="suppression_erased_idx",
            ),
            models.Index(
                fields=["by_user"],
                condition=models.Q(by_user__isnull=False),
                name="suppression_by_user_idx",
            ),
            # The staff's lists of a rare reason (complaints, manual entries, erasures),
            # newest first by date, and the complaints of the last days: without it a page of
            # them is a walk through millions of other events. Partial: unsubscribes and hard
            # bounces, the bulk of the history, are not in it (a page of either is found in id
            # order at once), so it costs bytes only for the rare rows.
            models.Index(
                fields=["reason", "at", "id"],
                condition=models.Q(reason__in=RARE_REASONS),
                name="suppression_rare_reason_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(reason__in=SuppressionReason.values),
                name="suppression_reason_known",
            ),
            models.CheckConstraint(
                condition=reduce(
                    operator.or_,
                    (models.Q(source=s, reason=r) for s, r in FIXED_REASON.items()),
                    ~models.Q(source__in=list(FIXED_REASON)),
                ),
                name="suppression_source_code_reason",
            ),
        ]
        permissions = [
            ("export_suppressions", "Can export an unsubscribe list for hand-over (R10)"),
            ("import_suppressions", "Can import unsubscribe lists of other providers"),
        ]

    def __str__(self) -> str:
        return f"{self.normalised} ({self.account})"

    @property
    def address(self) -> str:
        """The address as received (its key, where it arrived as its key)."""
        return self.received if self.received is not None else self.normalised

    @address.setter
    def address(self, value: str) -> None:
        self.received = value

    @staticmethod
    def received_to_store(address: str | None, normalised: str) -> str | None:
        """What the row keeps of the address as received: nothing where it is its key."""
        return None if address == normalised else address

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.received = self.received_to_store(self.received, self.normalised)
        super().save(*args, **kwargs)


def address_sql(event: str) -> str:
    """The address as received of the suppression row `event` (a table name or alias), in
    SQL: ``Suppression.address``'s twin."""
    return f"coalesce({event}.address, {event}.normalised)"


def received_to_store_sql(address: str, normalised: str) -> str:
    """What a row keeps of the address as received (SQL expressions in), in SQL:
    ``Suppression.received_to_store``'s twin, for the writers that bypass the model."""
    return f"nullif({address}, {normalised})"


class Complaint(Suppression):
    """A spam complaint reported by a mail provider, as compliance reviews them: which
    accounts draw complaints, from which provider, how often."""

    class Meta:
        proxy = True
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints for review")


# The origin of the sending platform's reports: "api:" and the integration's name (a
# provider's webhook reports under the provider's key, which holds no colon).
API_REPORT_ORIGIN = "api:"


class SuppressionReport(AppendOnlyModel):
    """A suppression reported from outside, recorded once per event: the sending platform's
    record call or a mail provider's webhook event, keyed by its origin and the SHA-256 of the
    caller's event id (the id is the caller's text and may hold anything, an address too), so
    that a retried delivery records once."""

    # "api:<integration>" for the record API, the provider's key for a webhook.
    origin = models.CharField(max_length=80, verbose_name=_("origin"))
    event_key = models.CharField(
        max_length=64, help_text=_("SHA-256 of the event id"), verbose_name=_("event key")
    )
    # SHA-256 of what the event said (account, address key, reason): a second event with the
    # same id that says something else is refused, not taken for a retry.
    fingerprint = models.CharField(max_length=64, verbose_name=_("fingerprint"))
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="+", verbose_name=_("account")
    )
    suppression = models.ForeignKey(
        Suppression, on_delete=models.PROTECT, related_name="+", verbose_name=_("suppression")
    )
    at = models.DateTimeField(help_text=_("When the report arrived"), verbose_name=_("at"))

    class Meta:
        verbose_name = _("suppression report")
        verbose_name_plural = _("suppression reports")
        constraints = [
            models.UniqueConstraint(fields=["origin", "event_key"], name="suppression_report_once")
        ]

    def __str__(self) -> str:
        return f"report {self.event_key[:12]} from {self.origin}"


class ErasureStatus(models.TextChoices):
    REQUESTED = "requested", _("Waiting for sign-off")
    # Only inside the transaction that carries it out: the mark the database's redaction
    # triggers look for (migration 0009).
    ERASING = "erasing", _("Being carried out")
    DONE = "done", _("Carried out")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ErasureRequest(KeptModel):
    """A person's request to erase their data (GDPR Art. 17) for one address, of one account or
    of every account. Recorded by a Compliance officer, carried out only when a second one
    signs it off; then the person's contacts, sign-ups and other personal data go, and every
    suppression of the address keeps only its SHA-256 and MD5 (it stays suppressed). The clear
    address is kept here only until the request is carried out or withdrawn."""

    Status = ErasureStatus

    account = models.ForeignKey(
        Account,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("account"),
        help_text=_("Empty: every account"),
    )
    address = models.CharField(_("address"), max_length=320, blank=True)
    normalised = models.CharField(_("normalised address"), max_length=320, blank=True)
    sha256 = models.CharField(_("SHA-256 of the normalised address"), max_length=64)
    md5 = models.CharField(_("MD5 of the normalised address"), max_length=32)
    reference = models.CharField(
        _("reference"),
        max_length=200,
        help_text=_("Where the person's request is filed (ticket, letter); never the address"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ErasureStatus.choices, default=ErasureStatus.REQUESTED
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    requested_at = models.DateTimeField(_("recorded at"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("signed off or withdrawn by"),
    )
    decided_at = models.DateTimeField(_("signed off or withdrawn at"), null=True, blank=True)
    carried_out_at = models.DateTimeField(_("carried out at"), null=True, blank=True)
    counts = models.JSONField(_("what was erased"), default=dict, blank=True)

    class Meta:
        verbose_name = _("erasure request")
        verbose_name_plural = _("erasure requests")
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["sha256"], name="erasure_sha256_idx")]
        permissions = [
            ("approve_erasurerequest", "Can sign off an erasure request another officer recorded")
        ]

    def __str__(self) -> str:
        return f"erasure request {self.pk} ({self.get_status_display()})"


class OptInMethod(models.TextChoices):
    SIGNUP_FORM = "signup_form", _("Sign-up form")
    DOUBLE_OPT_IN = "double_opt_in", _("Double opt-in confirmation")
    WRITTEN_CONSENT = "written_consent", _("Written consent")


class OptIn(AppendOnlyModel, ByFields):
    """An explicit new opt-in of an address, with its evidence: lifts earlier suppressions (R9)."""

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="optins", verbose_name=_("account")
    )
    address = models.CharField(
        max_length=320, help_text=_("The address as received"), verbose_name=_("address")
    )
    normalised = models.CharField(max_length=320, verbose_name=_("normalised"))
    at = models.DateTimeField(help_text=_("When the person opted in"), verbose_name=_("at"))
    method = models.CharField(max_length=20, choices=OptInMethod.choices, verbose_name=_("method"))
    origin = models.CharField(
        max_length=500,
        help_text=_("From where: the form and IP, the confirmation link, the letter"),
        verbose_name=_("origin"),
    )
    evidence = models.TextField(
        help_text=_("What proves the opt-in (reference, message, document)"),
        verbose_name=_("evidence"),
    )
    recorded_at = models.DateTimeField(verbose_name=_("recorded at"))

    class Meta:
        verbose_name = _("opt-in")
        verbose_name_plural = _("opt-ins")
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
    CSV = "csv", _("CSV of addresses")
    MD5 = "md5", _("MD5 of normalised addresses")
    SHA256 = "sha256", _("SHA-256 of normalised addresses")


class SuppressionExport(AppendOnlyModel, ByFields):
    """One hand-over export of an account's unsubscribe list: who, for what, how many (R10)."""

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="+", verbose_name=_("account")
    )
    at = models.DateTimeField(verbose_name=_("at"))
    purpose = models.TextField(verbose_name=_("purpose"))
    format = models.CharField(max_length=10, choices=ExportFormat.choices, verbose_name=_("format"))
    rows = models.PositiveBigIntegerField(verbose_name=_("rows"))
    complete = models.BooleanField(
        default=True,
        help_text=_("False when the download was interrupted before the last row"),
        verbose_name=_("complete"),
    )
    # Entries of erased addresses (erasure requests): handed over as their SHA-256 only.
    hash_only = models.PositiveBigIntegerField(
        _("hash-only entries"),
        default=0,
        help_text=_("Entries of erased addresses: only their hashes are kept"),
    )

    class Meta:
        verbose_name = _("suppression export")
        verbose_name_plural = _("suppression exports")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"export of {self.account} at {self.at:%Y-%m-%d %H:%M}"


class SuppressionImport(ByFields):
    """An unsubscribe list brought from another provider, with its preview, progress and result.

    Operational record (progress is updated while the file is read); what it added lives in
    the append-only suppression table."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        PREVIEWING = "previewing", _("Reading for preview")
        # No known layout matches: the staff say which column holds what, then it is read.
        MAPPING = "mapping", _("Needs a column mapping")
        PREVIEWED = "previewed", _("Preview ready")
        IMPORTING = "importing", _("Importing")
        DONE = "done", _("Imported")
        REFUSED = "refused", _("Refused")
        FAILED = "failed", _("Failed")
        # Not confirmed within IMPORT_PREVIEW_EXPIRY_HOURS: nothing written, the file removed.
        EXPIRED = "expired", _("Expired (not confirmed)")

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="+", verbose_name=_("account")
    )
    file_name = models.CharField(max_length=300, verbose_name=_("file name"))
    stored_path = models.CharField(max_length=500, blank=True, verbose_name=_("stored path"))
    size_bytes = models.PositiveBigIntegerField(default=0, verbose_name=_("size bytes"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.UPLOADED, verbose_name=_("status")
    )
    in_background = models.BooleanField(default=False, verbose_name=_("in background"))
    bytes_done = models.PositiveBigIntegerField(default=0, verbose_name=_("bytes done"))
    rows_done = models.PositiveBigIntegerField(default=0, verbose_name=_("rows done"))
    layout = models.CharField(
        max_length=80,
        blank=True,
        help_text=_("The kind of file recognised (a layout's key)"),
        verbose_name=_("layout"),
    )
    because = models.JSONField(
        default=list,
        blank=True,
        help_text=_("Why that layout: [sentence, its values]"),
        verbose_name=_("because"),
    )
    chosen_layout = models.CharField(
        max_length=40,
        blank=True,
        help_text=_("The layout the staff chose at upload, if any"),
        verbose_name=_("chosen layout"),
    )
    mapping = models.JSONField(
        null=True,
        blank=True,
        help_text=_("The column mapping the file is read with, if any"),
        verbose_name=_("mapping"),
    )
    columns = models.JSONField(
        default=list,
        blank=True,
        help_text=_("The file's columns and example values (mapping)"),
        verbose_name=_("columns"),
    )
    counts = models.JSONField(default=dict, blank=True, verbose_name=_("counts"))
    problems = models.JSONField(
        default=list,
        blank=True,
        help_text=_("[line, reason] of bad rows"),
        verbose_name=_("problems"),
    )
    notices = models.JSONField(
        default=list,
        blank=True,
        help_text=_("[line, note] of rows dated at the import"),
        verbose_name=_("notices"),
    )
    error = models.TextField(blank=True, verbose_name=_("error"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    class Meta:
        verbose_name = _("suppression import")
        verbose_name_plural = _("suppression imports")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name} for {self.account}"

    @property
    def progress_percent(self) -> int:
        if not self.size_bytes:
            return 0
        return min(100, int(100 * self.bytes_done / self.size_bytes))


class SuppressionMapping(ByFields):
    """A named column mapping for unsubscribe lists no known layout matches: which column
    holds the address, which the status (and which of its values mean suppressed), which the
    date. Saved from an import's mapping step and reused by name."""

    name = models.CharField(max_length=80, unique=True, verbose_name=_("name"))
    address_column = models.CharField(max_length=200, verbose_name=_("address column"))
    status_column = models.CharField(max_length=200, blank=True, verbose_name=_("status column"))
    suppressed_values = models.JSONField(
        default=list,
        blank=True,
        help_text=_("Values of the status column that mean suppressed"),
        verbose_name=_("suppressed values"),
    )
    date_column = models.CharField(max_length=200, blank=True, verbose_name=_("date column"))
    reason = models.CharField(
        max_length=1,
        choices=SuppressionReason.choices,
        default=SuppressionReason.UNSUBSCRIBE,
        verbose_name=_("reason"),
    )
    created_at = models.DateTimeField(verbose_name=_("created at"))

    class Meta:
        verbose_name = _("column mapping")
        verbose_name_plural = _("column mappings")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "address_column": self.address_column,
            "status_column": self.status_column,
            "suppressed_values": list(self.suppressed_values),
            "date_column": self.date_column,
            "reason": self.reason,
        }


class PurgeProgress(models.Model):
    """How far the purge of one account has got; makes a crashed purge resumable and its
    receipt's counts exact across runs."""

    account = models.OneToOneField(
        Account, on_delete=models.PROTECT, related_name="+", verbose_name=_("account")
    )
    started_at = models.DateTimeField(verbose_name=_("started at"))
    counts = models.JSONField(default=dict, verbose_name=_("counts"))
    # Where the next batch of each walked kind starts (accounts.services.purge, Kind.walk):
    # kept with the counts in the transaction of the deletes, so a crash between steps
    # resumes after the last committed batch, missing no row and counting none twice.
    walked = models.JSONField(
        default=dict,
        db_default={},
        help_text=_("Per kind, the last id a batch deleted"),
        verbose_name=_("deleted up to"),
    )

    class Meta:
        verbose_name = _("purge progress")
        verbose_name_plural = _("purge progress")

    def __str__(self) -> str:
        return f"purge of {self.account} in progress"


class PurgeReceipt(AppendOnlyModel, ByFields):
    """What the purge of an account deleted, when, by which run (R7)."""

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="+", verbose_name=_("account")
    )
    at = models.DateTimeField(verbose_name=_("at"))
    started_at = models.DateTimeField(verbose_name=_("started at"))
    inactive_since = models.DateTimeField(verbose_name=_("inactive since"))
    counts = models.JSONField(verbose_name=_("counts"))
    run = models.CharField(
        max_length=120, blank=True, help_text=_("The job run that purged"), verbose_name=_("run")
    )

    class Meta:
        verbose_name = _("purge receipt")
        verbose_name_plural = _("purge receipts")
        ordering = ["-at", "-id"]
        # The receipts' list, newest first (its ordering): without it each page sorted every
        # receipt, counts and all.
        indexes = [models.Index(fields=["-at", "-id"], name="purgereceipt_at_idx")]

    def __str__(self) -> str:
        return f"purge receipt of {self.account}"


class RetentionAccount(Account):
    """An account seen from retention (R7): when it may be purged, legal holds."""

    class Meta:
        proxy = True
        verbose_name = _("account retention")
        verbose_name_plural = _("account retention")
