"""Customer accounts and their timeline.

State changes go through ``accounts.services`` only; the models hold no business rules.
"""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F
from django.db.models.functions import Lower
from django.db.models.lookups import GreaterThan
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import AppendOnlyModel, ByFields, KeptModel
from core.validators import no_control_characters


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        # Message and values apart: a CSV import keeps the msgid and shows it translated.
        raise ValidationError(
            _("%(zone)s is not a known time zone (e.g. Europe/Berlin)"),
            params={"zone": repr(value)},
        ) from exc


class AccountStatus(models.TextChoices):
    TRIAL = "trial", _("Trial")
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    SUSPENDED = "suspended", _("Suspended")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired (trial ended)")
    PURGED = "purged", _("Purged")


# States in which the customer still has the account (sign-ups recorded, files online).
OPEN_STATUSES = (
    AccountStatus.TRIAL,
    AccountStatus.ACTIVE,
    AccountStatus.PAUSED,
    AccountStatus.SUSPENDED,
)
# States counted as "inactive" for retention (R7).
INACTIVE_STATUSES = (AccountStatus.CANCELLED, AccountStatus.EXPIRED)


class Language(models.TextChoices):
    ENGLISH = "en", _("English")
    GERMAN = "de", _("Deutsch")


class Account(KeptModel):
    """A customer account of the email-marketing service, from trial to purge."""

    username = models.CharField(
        max_length=150, unique=True, validators=[no_control_characters], verbose_name=_("username")
    )
    company = models.CharField(
        max_length=200, blank=True, validators=[no_control_characters], verbose_name=_("company")
    )
    primary_email = models.EmailField(verbose_name=_("primary email"))
    time_zone = models.CharField(
        max_length=64, default="UTC", validators=[validate_time_zone], verbose_name=_("time zone")
    )
    language = models.CharField(
        max_length=2, choices=Language.choices, default=Language.ENGLISH, verbose_name=_("language")
    )
    status = models.CharField(
        max_length=16,
        choices=AccountStatus.choices,
        default=AccountStatus.TRIAL,
        verbose_name=_("status"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    # The instant the trial ends: local midnight after the last trial day, stored in UTC.
    trial_ends_at = models.DateTimeField(null=True, blank=True, verbose_name=_("trial ends at"))
    last_activity_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("last activity at")
    )
    # Set when the account became cancelled or expired; the retention clock (R7) runs from it.
    inactive_since = models.DateTimeField(null=True, blank=True, verbose_name=_("inactive since"))
    legal_hold = models.BooleanField(
        default=False,
        help_text=_("While set, the account is never purged (R7)."),
        verbose_name=_("legal hold"),
    )
    legal_hold_reason = models.CharField(
        max_length=300, blank=True, verbose_name=_("legal hold reason")
    )
    # A pause with an end (R8): the local date the account resumes by itself, and that day's
    # first moment in UTC, which the resume_paused job selects on. Empty: paused indefinitely.
    paused_until = models.DateField(
        null=True,
        blank=True,
        verbose_name=_("paused until"),
        help_text=_("The local date the pause ends by itself; empty: paused until resumed (R8)."),
    )
    resumes_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("resumes at")
    )

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["username"]
        indexes = [
            models.Index(fields=["status", "trial_ends_at"], name="account_status_trial_idx"),
            # Retention (R7): the purge questions read the zone and the hold from the index.
            models.Index(
                fields=["status", "inactive_since"],
                include=["time_zone", "legal_hold"],
                name="account_retention_idx",
            ),
            # Suspended accounts (a few percent) joined from billing's non-payment lists, with
            # their zone: the lists and the scrape read the zones and filter by each zone's
            # local calendar from this index alone.
            models.Index(
                fields=["id"],
                include=["time_zone"],
                condition=models.Q(status="suspended"),
                name="account_suspended_zone_idx",
            ),
            # Legal holds (a handful) in the list's order: the "legal hold" filter reads them
            # here instead of every account.
            models.Index(
                fields=["username"],
                condition=models.Q(legal_hold=True),
                name="account_legal_hold_idx",
            ),
            models.Index(fields=["primary_email"], name="account_email_idx"),
            # Pauses with an end date (a few): the resume job's question.
            models.Index(
                fields=["resumes_at"],
                condition=models.Q(resumes_at__isnull=False),
                name="account_resumes_at_idx",
            ),
        ]
        permissions = [
            ("take_cancellation_call", "Can take a cancellation call"),
            ("pause_account", "Can pause and resume an account"),
            (
                "allow_repeat_pause",
                "Can allow a second pause within one billing period",
            ),
            ("reactivate_account", "Can reactivate a cancelled or expired account"),
            ("set_legal_hold", "Can set and release a legal hold"),
        ]

    def __str__(self) -> str:
        return self.username

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class EventKind(models.TextChoices):
    """What an entry on an account's timeline records: a closed list (R12)."""

    CREATED = "created", _("Account created")
    ACTIVATE = "activate", _("Plan chosen (trial to active)")
    EXPIRE_TRIAL = "expire_trial", _("Trial ended")
    PAUSE = "pause", _("Paused")
    RESUME = "resume", _("Resumed")
    RESUME_NOTICE = "resume_notice", _("Notice of the pause's end sent")
    REPEAT_PAUSE_ALLOWED = "repeat_pause_allowed", _("Second pause in the billing period allowed")
    SUSPEND = "suspend", _("Suspended for non-payment")
    UNSUSPEND = "unsuspend", _("Reactivated after payment")
    CANCELLED_VOLUNTARY = "cancelled_voluntary", _("Cancelled (customer's choice)")
    CANCELLED_INVOLUNTARY = "cancelled_involuntary", _("Cancelled (non-payment)")
    REACTIVATE = "reactivate", _("Reactivated")
    PURGE = "purge", _("Purged")
    SAVED_BY_PAUSE = "saved_by_pause", _("Saved by pause")
    CONFIRMATION_SENT = "confirmation_sent", _("Cancellation confirmation sent")
    SUSPENSION_NOTICE = "suspension_notice", _("Suspension notice sent")
    LEGAL_HOLD_SET = "legal_hold_set", _("Legal hold set")
    LEGAL_HOLD_RELEASED = "legal_hold_released", _("Legal hold released")
    DETAILS_CHANGED = "details_changed", _("Details changed")
    BILLING_OPENED = "billing_opened", _("Billing profile opened")
    BILLING_CHANGED = "billing_changed", _("Billing profile changed")
    BILLING_RESCHEDULED = "billing_rescheduled", _("Billing date moved to a new time zone")
    CARD_ATTACHED = "card_attached", _("Card put on file")
    CARD_CHANGED = "card_changed", _("Card on file changed")
    ADDON_ADDED = "addon_added", _("Add-on added")
    ADDON_CANCELLED = "addon_cancelled", _("Add-on cancelled")
    APPROVAL_REQUESTED = "approval_requested", _("Sign-off asked for")
    APPROVAL_APPROVED = "approval_approved", _("Sign-off given")
    APPROVAL_REJECTED = "approval_rejected", _("Sign-off refused")
    APPROVAL_EXPIRED = "approval_expired", _("Sign-off request expired")
    NOTE = "note", _("Note")
    # An erasure request removed a person's data from the account (GDPR Art. 17); the entry
    # says what, never whose.
    PERSONAL_DATA_ERASED = "personal_data_erased", _("Personal data erased")


class AccountEvent(AppendOnlyModel, ByFields):
    """One entry on an account's timeline: a state change or a staff/job action (R12)."""

    # Indexed with the id (event_account_id_idx), not alone: "the account's last event" is then
    # one index probe, where an index of the account alone let PostgreSQL walk every newer
    # event of the table backwards looking for one of a big account's.
    account = models.ForeignKey(
        Account,
        on_delete=models.PROTECT,
        related_name="events",
        db_index=False,
        verbose_name=_("account"),
    )
    at = models.DateTimeField(db_index=True, verbose_name=_("at"))
    kind = models.CharField(max_length=40, choices=EventKind.choices, verbose_name=_("kind"))
    from_status = models.CharField(
        max_length=16, choices=AccountStatus.choices, blank=True, verbose_name=_("from status")
    )
    to_status = models.CharField(
        max_length=16, choices=AccountStatus.choices, blank=True, verbose_name=_("to status")
    )
    reason = models.TextField(blank=True, verbose_name=_("reason"))

    class Meta:
        verbose_name = _("account event")
        verbose_name_plural = _("account events")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["account", "-at"], name="event_account_at_idx"),
            models.Index(fields=["account", "id"], name="event_account_id_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=EventKind.values), name="event_kind_known"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.from_status}→{self.to_status} at {self.at:%Y-%m-%d %H:%M}"


# --- The content a customer keeps in the account (deleted for good only by purge, R7) ---------


class Contact(models.Model):
    """A subscriber on the account's audience list."""

    # Indexed with the id (Meta.indexes), which serves every look-up by account as well.
    account = models.ForeignKey(
        Account,
        on_delete=models.CASCADE,
        db_index=False,
        related_name="contacts",
        verbose_name=_("account"),
    )
    email = models.CharField(max_length=320, verbose_name=_("email"))
    name = models.CharField(max_length=200, blank=True, verbose_name=_("name"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    signup_form = models.ForeignKey(
        "SignupForm",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("signup form"),
    )
    # Signed up while the address was unsubscribed: not mailed until the address confirms
    # (double opt-in, R9). A database default too, so bulk loads need not name the column.
    awaiting_confirmation = models.BooleanField(
        default=False,
        db_default=False,
        help_text=_("Signed up while unsubscribed: not mailed until the address confirms (R9)"),
        verbose_name=_("awaiting confirmation"),
    )

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [
            # The purge of a big account deletes its contacts in batches in id order, each
            # batch starting after the last one (R7): the rows come close to the order of the
            # table's pages, and no batch walks the entries of rows deleted before it.
            models.Index(fields=["account", "id"], name="contact_account_id_idx"),
            models.Index(fields=["account", "email"], name="contact_account_email_idx"),
            # An erasure request across every account finds the person's contacts.
            models.Index(Lower("email"), name="contact_email_lower_idx"),
        ]

    def __str__(self) -> str:
        return self.email


class Campaign(models.Model):
    """An email campaign the customer wrote and sent (or has in draft)."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="campaigns", verbose_name=_("account")
    )
    name = models.CharField(max_length=200, verbose_name=_("name"))
    subject = models.CharField(max_length=300, blank=True, verbose_name=_("subject"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")

    def __str__(self) -> str:
        return self.name


class CampaignReport(models.Model):
    """Delivery figures of a sent campaign."""

    campaign = models.OneToOneField(
        Campaign, on_delete=models.CASCADE, related_name="report", verbose_name=_("campaign")
    )
    recipients = models.PositiveIntegerField(default=0, verbose_name=_("recipients"))
    opens = models.PositiveIntegerField(default=0, verbose_name=_("opens"))
    clicks = models.PositiveIntegerField(default=0, verbose_name=_("clicks"))
    unsubscribes = models.PositiveIntegerField(default=0, verbose_name=_("unsubscribes"))

    class Meta:
        verbose_name = _("campaign report")
        verbose_name_plural = _("campaign reports")

    def __str__(self) -> str:
        return f"report of {self.campaign}"


class SignupForm(models.Model):
    """A list-growth form on the customer's website; keeps answering after cancellation (R6)."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="signup_forms", verbose_name=_("account")
    )
    name = models.CharField(max_length=200, verbose_name=_("name"))
    public_key = models.CharField(max_length=40, unique=True, verbose_name=_("public key"))
    # Sign-ups that arrived after the account closed: answered with success, not recorded (R6).
    discarded_signups = models.PositiveIntegerField(default=0, verbose_name=_("discarded signups"))

    class Meta:
        verbose_name = _("signup form")
        verbose_name_plural = _("signup forms")

    def __str__(self) -> str:
        return self.name


class SignupSubmission(models.Model):
    """One sign-up through a form, as received (kept until purge)."""

    form = models.ForeignKey(
        SignupForm, on_delete=models.CASCADE, related_name="submissions", verbose_name=_("form")
    )
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="+", verbose_name=_("account")
    )
    email = models.CharField(max_length=320, verbose_name=_("email"))
    at = models.DateTimeField(verbose_name=_("at"))
    source_ip = models.GenericIPAddressField(null=True, blank=True, verbose_name=_("source ip"))

    class Meta:
        # An erasure request across every account finds the person's sign-ups.
        verbose_name = _("signup submission")
        verbose_name_plural = _("signup submissions")
        indexes = [models.Index(Lower("email"), name="submission_email_lower_idx")]

    def __str__(self) -> str:
        return f"{self.email} via {self.form}"


class Integration(models.Model):
    """A connection to another service (shop, CRM); disconnected on cancellation (R6)."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="integrations", verbose_name=_("account")
    )
    service = models.CharField(max_length=60, verbose_name=_("service"))
    connected = models.BooleanField(default=True, verbose_name=_("connected"))
    disconnected_at = models.DateTimeField(null=True, blank=True, verbose_name=_("disconnected at"))

    class Meta:
        verbose_name = _("integration")
        verbose_name_plural = _("integrations")

    def __str__(self) -> str:
        return f"{self.service} ({'connected' if self.connected else 'disconnected'})"


class HostedFile(models.Model):
    """An image or document served publicly for the account; offline once cancelled (R6)."""

    class Kind(models.TextChoices):
        IMAGE = "image", _("Image")
        DOCUMENT = "document", _("Document")

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="hosted_files", verbose_name=_("account")
    )
    kind = models.CharField(
        max_length=10, choices=Kind.choices, default=Kind.IMAGE, verbose_name=_("kind")
    )
    public_key = models.CharField(max_length=40, unique=True, verbose_name=_("public key"))
    name = models.CharField(max_length=200, verbose_name=_("name"))
    content_type = models.CharField(
        max_length=100, default="image/png", verbose_name=_("content type")
    )
    content = models.BinaryField(verbose_name=_("content"))
    online = models.BooleanField(default=True, verbose_name=_("online"))

    class Meta:
        verbose_name = _("hosted file")
        verbose_name_plural = _("hosted files")

    def __str__(self) -> str:
        return self.name


# --- The cancellation desk (R2, R3, R4, R8) ----------------------------------------------------


class CancellationReason(KeptModel):
    """A reason from the managed list an agent picks when a customer calls to cancel (R2)."""

    name = models.CharField(
        max_length=120, unique=True, validators=[no_control_characters], verbose_name=_("name")
    )
    active = models.BooleanField(
        default=True,
        help_text=_(
            "Retired reasons are no longer offered, but stay on the requests that used them."
        ),
        verbose_name=_("active"),
    )
    # The reason the system uses for cancellations it makes itself (non-payment, R11); never
    # offered to agents.
    system = models.BooleanField(default=False, editable=False, verbose_name=_("system"))
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )

    class Meta:
        verbose_name = _("cancellation reason")
        verbose_name_plural = _("cancellation reasons")
        ordering = ["-active", "name"]

    def __str__(self) -> str:
        return self.name if self.active else f"{self.name} (retired)"


class CancellationOutcome(models.TextChoices):
    CANCELLED = "cancelled", _("Cancelled")
    SAVED_BY_PAUSE = "saved_by_pause", _("Saved by pause")
    TRIAL_CLOSED = "trial_closed", _("Trial closed early")


class CancellationRequest(models.Model):
    """A request to cancel an account: a customer's call taken by an agent, or the system
    cancelling for non-payment. Each one gets exactly one confirmation email (R4)."""

    account = models.ForeignKey(
        Account,
        on_delete=models.PROTECT,
        related_name="cancellation_requests",
        verbose_name=_("account"),
    )
    at = models.DateTimeField(db_index=True, verbose_name=_("at"))
    reason = models.ForeignKey(
        CancellationReason, on_delete=models.PROTECT, related_name="+", verbose_name=_("reason")
    )
    callers_words = models.TextField(
        blank=True,
        help_text=_("What the customer said, in brief."),
        verbose_name=_("caller's words"),
    )
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("taken by"),
    )
    by_job = models.CharField(max_length=60, blank=True, verbose_name=_("by job"))
    voluntary = models.BooleanField(
        help_text=_(
            "The customer's choice (an agent took the call), not the system's (non-payment)."
        ),
        verbose_name=_("voluntary"),
    )
    outcome = models.CharField(
        max_length=20, choices=CancellationOutcome.choices, verbose_name=_("outcome")
    )
    pause_offered = models.BooleanField(default=False, verbose_name=_("pause offered"))
    pause_accepted = models.BooleanField(default=False, verbose_name=_("saved by pause"))
    next_billing_date = models.DateField(
        null=True,
        blank=True,
        help_text=_("The next billing date when the request was taken."),
        verbose_name=_("next billing date"),
    )
    in_time = models.BooleanField(
        null=True,
        blank=True,
        help_text=_(
            "Taken before the next billing date began in the account's time zone (R3); "
            "empty when no billing date was due."
        ),
        verbose_name=_("in time"),
    )
    # R4: exactly one confirmation. A sender claims the request (claimed_until in the future)
    # with a conditional UPDATE before sending and records sent_at after; a failed send
    # releases the claim and counts the attempt.
    confirmation_sent_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("confirmation sent at")
    )
    confirmation_claimed_until = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("confirmation claimed until")
    )
    confirmation_claim = models.CharField(
        max_length=40, blank=True, editable=False, verbose_name=_("confirmation claim")
    )
    confirmation_attempts = models.PositiveIntegerField(
        default=0, verbose_name=_("confirmation attempts")
    )
    confirmation_last_error = models.TextField(
        blank=True, verbose_name=_("confirmation last error")
    )

    class Meta:
        verbose_name = _("cancellation request")
        verbose_name_plural = _("cancellation requests")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(
                fields=["at"],
                name="cancelreq_unconfirmed_idx",
                condition=models.Q(confirmation_sent_at__isnull=True),
            ),
            models.Index(fields=["account", "-at"], name="cancelreq_account_at_idx"),
            # The desk's list, newest first (its ordering), without sorting every request.
            models.Index(fields=["-at", "-id"], name="cancelreq_at_idx"),
            # The rare states staff filter on, each its own small index in the list's order:
            # a filter on them read through cancelreq_at_idx would walk every request to find
            # the few. Late confirmations (R4): the condition is selectors.confirmation_sent's
            # with 24 hours, which also serves any longer SLA (a later one implies this one).
            models.Index(
                fields=["-at", "-id"],
                name="cancelreq_late_idx",
                condition=models.Q(
                    GreaterThan(F("confirmation_sent_at") - F("at"), timedelta(hours=24))
                ),
            ),
            models.Index(
                fields=["-at", "-id"],
                name="cancelreq_not_in_time_idx",
                condition=models.Q(in_time=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} at {self.at:%Y-%m-%d %H:%M} ({self.get_outcome_display()})"

    @property
    def by(self) -> str:
        return self.by_job and f"job {self.by_job}" or (self.taken_by and str(self.taken_by)) or "?"
