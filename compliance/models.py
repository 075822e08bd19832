"""Suppressions (unsubscribes) kept apart from contacts, forever (R9)."""

from django.db import models

from accounts.models import Account, AppendOnlyModel


class SuppressionSource(models.TextChoices):
    UNSUBSCRIBE_LINK = "unsubscribe_link", "Unsubscribe link"
    STAFF = "staff", "Staff"
    IMPORT = "import", "Import"
    COMPLAINT = "complaint", "Complaint"
    BOUNCE = "bounce", "Bounce"


class Suppression(AppendOnlyModel):
    """An address the account may no longer send to; never edited or deleted (R9, R12)."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="suppressions")
    address = models.CharField(max_length=320, help_text="The address as received")
    normalised = models.CharField(max_length=320, help_text="Match key: trimmed, lower-case, IDNA")
    source = models.CharField(max_length=20, choices=SuppressionSource.choices)
    at = models.DateTimeField()
    evidence = models.TextField(blank=True)
    by_user = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    by_job = models.CharField(max_length=60, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "normalised"], name="suppression_key_idx")]

    def __str__(self) -> str:
        return f"{self.normalised} ({self.account})"
