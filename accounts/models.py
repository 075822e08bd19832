"""Customer accounts and their timeline.

State changes go through ``accounts.services`` only; the models hold no business rules.
"""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import AppendOnlyModel, ByFields, KeptModel
from core.validators import no_control_characters


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"{value!r} is not a known time zone (e.g. Europe/Berlin)") from exc


class AccountStatus(models.TextChoices):
    TRIAL = "trial", "Trial"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    SUSPENDED = "suspended", "Suspended"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired (trial ended)"
    PURGED = "purged", "Purged"


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
    ENGLISH = "en", "English"
    GERMAN = "de", "Deutsch"


class Account(KeptModel):
    """A customer account of the email-marketing service, from trial to purge."""

    username = models.CharField(max_length=150, unique=True, validators=[no_control_characters])
    company = models.CharField(max_length=200, blank=True, validators=[no_control_characters])
    primary_email = models.EmailField()
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.ENGLISH)
    status = models.CharField(
        max_length=16, choices=AccountStatus.choices, default=AccountStatus.TRIAL
    )
    created_at = models.DateTimeField(default=timezone.now)
    # The instant the trial ends: local midnight after the last trial day, stored in UTC.
    trial_ends_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    # Set when the account became cancelled or expired; the retention clock (R7) runs from it.
    inactive_since = models.DateTimeField(null=True, blank=True)
    legal_hold = models.BooleanField(
        default=False, help_text="While set, the account is never purged (R7)."
    )
    legal_hold_reason = models.CharField(max_length=300, blank=True)
    # A pause with an end (R8): the local date the account resumes by itself, and that day's
    # first moment in UTC, which the resume_paused job selects on. Empty: paused indefinitely.
    paused_until = models.DateField(
        null=True,
        blank=True,
        help_text="The local date the pause ends by itself; empty: paused until resumed (R8).",
    )
    resumes_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["username"]
        indexes = [
            models.Index(fields=["status", "trial_ends_at"], name="account_status_trial_idx"),
            # Retention (R7): the purge questions read the zone and the hold from the index.
            models.Index(
                fields=["status", "inactive_since"],
                include=["time_zone", "legal_hold"],
                name="account_retention_idx",
            ),
            # Suspended accounts (a few percent) joined from billing's non-payment lists.
            models.Index(
                fields=["id"],
                condition=models.Q(status="suspended"),
                name="account_suspended_idx",
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

    CREATED = "created", "Account created"
    ACTIVATE = "activate", "Plan chosen (trial to active)"
    EXPIRE_TRIAL = "expire_trial", "Trial ended"
    PAUSE = "pause", "Paused"
    RESUME = "resume", "Resumed"
    RESUME_NOTICE = "resume_notice", _("Notice of the pause's end sent")
    REPEAT_PAUSE_ALLOWED = "repeat_pause_allowed", _("Second pause in the billing period allowed")
    SUSPEND = "suspend", "Suspended for non-payment"
    UNSUSPEND = "unsuspend", "Reactivated after payment"
    CANCELLED_VOLUNTARY = "cancelled_voluntary", "Cancelled (customer's choice)"
    CANCELLED_INVOLUNTARY = "cancelled_involuntary", "Cancelled (non-payment)"
    REACTIVATE = "reactivate", "Reactivated"
    PURGE = "purge", "Purged"
    SAVED_BY_PAUSE = "saved_by_pause", "Saved by pause"
    CONFIRMATION_SENT = "confirmation_sent", "Cancellation confirmation sent"
    SUSPENSION_NOTICE = "suspension_notice", "Suspension notice sent"
    LEGAL_HOLD_SET = "legal_hold_set", "Legal hold set"
    LEGAL_HOLD_RELEASED = "legal_hold_released", "Legal hold released"
    DETAILS_CHANGED = "details_changed", "Details changed"
    BILLING_OPENED = "billing_opened", "Billing profile opened"
    BILLING_CHANGED = "billing_changed", "Billing profile changed"
    BILLING_RESCHEDULED = "billing_rescheduled", "Billing date moved to a new time zone"
    CARD_ATTACHED = "card_attached", "Card put on file"
    CARD_CHANGED = "card_changed", "Card on file changed"
    ADDON_ADDED = "addon_added", "Add-on added"
    ADDON_CANCELLED = "addon_cancelled", "Add-on cancelled"
    APPROVAL_REQUESTED = "approval_requested", _("Sign-off asked for")
    APPROVAL_APPROVED = "approval_approved", _("Sign-off given")
    APPROVAL_REJECTED = "approval_rejected", _("Sign-off refused")
    APPROVAL_EXPIRED = "approval_expired", _("Sign-off request expired")
    NOTE = "note", "Note"
    # An erasure request removed a person's data from the account (GDPR Art. 17); the entry
    # says what, never whose.
    PERSONAL_DATA_ERASED = "personal_data_erased", _("Personal data erased")


class AccountEvent(AppendOnlyModel, ByFields):
    """One entry on an account's timeline: a state change or a staff/job action (R12)."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField(db_index=True)
    kind = models.CharField(max_length=40, choices=EventKind.choices)
    from_status = models.CharField(max_length=16, choices=AccountStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=AccountStatus.choices, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["account", "-at"], name="event_account_at_idx")]
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

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contacts")
    email = models.CharField(max_length=320)
    name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    signup_form = models.ForeignKey(
        "SignupForm", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Signed up while the address was unsubscribed: not mailed until the address confirms
    # (double opt-in, R9). A database default too, so bulk loads need not name the column.
    awaiting_confirmation = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Signed up while unsubscribed: not mailed until the address confirms (R9)",
    )

    class Meta:
        indexes = [
            models.Index(fields=["account", "email"], name="contact_account_email_idx"),
            # An erasure request across every account finds the person's contacts.
            models.Index(Lower("email"), name="contact_email_lower_idx"),
        ]

    def __str__(self) -> str:
        return self.email


class Campaign(models.Model):
    """An email campaign the customer wrote and sent (or has in draft)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=200)
    subject = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class CampaignReport(models.Model):
    """Delivery figures of a sent campaign."""

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="report")
    recipients = models.PositiveIntegerField(default=0)
    opens = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)
    unsubscribes = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"report of {self.campaign}"


class SignupForm(models.Model):
    """A list-growth form on the customer's website; keeps answering after cancellation (R6)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="signup_forms")
    name = models.CharField(max_length=200)
    public_key = models.CharField(max_length=40, unique=True)
    # Sign-ups that arrived after the account closed: answered with success, not recorded (R6).
    discarded_signups = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.name


class SignupSubmission(models.Model):
    """One sign-up through a form, as received (kept until purge)."""

    form = models.ForeignKey(SignupForm, on_delete=models.CASCADE, related_name="submissions")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    email = models.CharField(max_length=320)
    at = models.DateTimeField()
    source_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        # An erasure request across every account finds the person's sign-ups.
        indexes = [models.Index(Lower("email"), name="submission_email_lower_idx")]

    def __str__(self) -> str:
        return f"{self.email} via {self.form}"


class Integration(models.Model):
    """A connection to another service (shop, CRM); disconnected on cancellation (R6)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="integrations")
    service = models.CharField(max_length=60)
    connected = models.BooleanField(default=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.service} ({'connected' if self.connected else 'disconnected'})"


class HostedFile(models.Model):
    """An image or document served publicly for the account; offline once cancelled (R6)."""

    class Kind(models.TextChoices):
        IMAGE = "image", "Image"
        DOCUMENT = "document", "Document"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="hosted_files")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.IMAGE)
    public_key = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100, default="image/png")
    content = models.BinaryField()
    online = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name


# --- The cancellation desk (R2, R3, R4, R8) ----------------------------------------------------


class CancellationReason(KeptModel):
    """A reason from the managed list an agent picks when a customer calls to cancel (R2)."""

    name = models.CharField(max_length=120, unique=True, validators=[no_control_characters])
    active = models.BooleanField(
        default=True,
        help_text="Retired reasons are no longer offered, but stay on the requests that used them.",
    )
    # The reason the system uses for cancellations it makes itself (non-payment, R11); never
    # offered to agents.
    system = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-active", "name"]

    def __str__(self) -> str:
        return self.name if self.active else f"{self.name} (retired)"


class CancellationOutcome(models.TextChoices):
    CANCELLED = "cancelled", "Cancelled"
    SAVED_BY_PAUSE = "saved_by_pause", "Saved by pause"
    TRIAL_CLOSED = "trial_closed", "Trial closed early"


class CancellationRequest(models.Model):
    """A request to cancel an account: a customer's call taken by an agent, or the system
    cancelling for non-payment. Each one gets exactly one confirmation email (R4)."""

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="cancellation_requests"
    )
    at = models.DateTimeField(db_index=True)
    reason = models.ForeignKey(CancellationReason, on_delete=models.PROTECT, related_name="+")
    callers_words = models.TextField(blank=True, help_text="What the customer said, in brief.")
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    by_job = models.CharField(max_length=60, blank=True)
    voluntary = models.BooleanField(
        help_text="The customer's choice (an agent took the call), not the system's (non-payment)."
    )
    outcome = models.CharField(max_length=20, choices=CancellationOutcome.choices)
    pause_offered = models.BooleanField(default=False)
    pause_accepted = models.BooleanField(default=False, verbose_name="saved by pause")
    next_billing_date = models.DateField(
        null=True, blank=True, help_text="The next billing date when the request was taken."
    )
    in_time = models.BooleanField(
        null=True,
        blank=True,
        help_text="Taken before the next billing date began in the account's time zone (R3); "
        "empty when no billing date was due.",
    )
    # R4: exactly one confirmation. A sender claims the request (claimed_until in the future)
    # with a conditional UPDATE before sending and records sent_at after; a failed send
    # releases the claim and counts the attempt.
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    confirmation_claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    confirmation_claim = models.CharField(max_length=40, blank=True, editable=False)
    confirmation_attempts = models.PositiveIntegerField(default=0)
    confirmation_last_error = models.TextField(blank=True)

    class Meta:
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
        ]

    def __str__(self) -> str:
        return f"{self.account} at {self.at:%Y-%m-%d %H:%M} ({self.get_outcome_display()})"

    @property
    def by(self) -> str:
        return self.by_job and f"job {self.by_job}" or (self.taken_by and str(self.taken_by)) or "?"
