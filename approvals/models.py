"""Sign-off requests ("four eyes", SPEC "Compliance details"): what cannot be undone or weakens
compliance (releasing a legal hold, a staff-entered opt-in, a refund, a purge by hand) is asked
for by one staff member with a reason and done only when another, holding the same permission,
approves it. The requester never approves their own request, superusers included.

Both tables are append-only records (R12): a request is written once; its decision (approved,
rejected or expired) is a second record, at most one per request. A request with no decision
is pending until it expires; the state is derived, never edited in place."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from core.models import AppendOnlyModel, ByFields


class ApprovalKind(models.TextChoices):
    """What a request asks to do: a closed list, each with the permission to ask and approve."""

    LEGAL_HOLD_RELEASE = "legal_hold_release", _("Release a legal hold")
    OPTIN = "optin", _("Record an opt-in entered by staff")
    REFUND = "refund", _("Refund a charge")
    PURGE = "purge", _("Purge an account now (past retention)")


# The permission a staff member needs to ask for, and to approve, each kind.
KIND_PERMISSIONS = {
    ApprovalKind.LEGAL_HOLD_RELEASE: "accounts.set_legal_hold",
    ApprovalKind.OPTIN: "compliance.add_optin",
    ApprovalKind.REFUND: "billing.refund_charge",
    ApprovalKind.PURGE: "approvals.purge_account",
}


class ApprovalState(models.TextChoices):
    """Where a request stands: derived from its decision and its expiry."""

    PENDING = "pending", _("Waiting for sign-off")
    APPROVED = "approved", _("Approved and done")
    REJECTED = "rejected", _("Rejected")
    EXPIRED = "expired", _("Expired")


class ApprovalRequest(AppendOnlyModel, ByFields):
    """One staff member's request, with a reason, to do what needs a second person's sign-off."""

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="+", verbose_name=_("account")
    )
    kind = models.CharField(_("what"), max_length=30, choices=ApprovalKind.choices)
    # What the request is about, as a key: one pending request per kind and subject
    # ("account:12", "ledgerentry:345", "optin:12:anna@example.com").
    subject = models.CharField(_("subject"), max_length=400)
    # What the approved action needs, as the service will be called (ids, the opt-in's
    # evidence); shown to the approver as `summary`.
    payload = models.JSONField(_("details"), default=dict)
    summary = models.TextField(_("what exactly"))
    reason = models.TextField(_("reason"))
    requested_at = models.DateTimeField(_("requested at"), db_index=True)
    expires_at = models.DateTimeField(_("expires at"))

    class Meta:
        verbose_name = _("sign-off request")
        verbose_name_plural = _("sign-off requests")
        ordering = ["-requested_at", "-id"]
        indexes = [
            models.Index(fields=["kind", "subject"], name="approval_subject_idx"),
            models.Index(fields=["account", "-requested_at"], name="approval_account_idx"),
            models.Index(fields=["expires_at"], name="approval_expires_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=ApprovalKind.values), name="approval_kind_known"
            )
        ]
        permissions = [
            ("purge_account", "Can ask for and approve the purge of an account past retention"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()}: {self.account}"


class ApprovalOutcome(models.TextChoices):
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    EXPIRED = "expired", _("Expired")


class ApprovalDecision(AppendOnlyModel, ByFields):
    """The end of a request: approved (the action ran in the same transaction) or rejected by a
    second person, or expired unanswered (by the job)."""

    request = models.OneToOneField(
        ApprovalRequest,
        on_delete=models.PROTECT,
        related_name="decision",
        verbose_name=_("request"),
    )
    outcome = models.CharField(_("outcome"), max_length=10, choices=ApprovalOutcome.choices)
    at = models.DateTimeField(_("decided at"))
    note = models.TextField(_("note"), blank=True)
    # What the approved action did, in the staff's words ("refunded 45.00 USD").
    result = models.TextField(_("result"), blank=True)

    class Meta:
        verbose_name = _("sign-off decision")
        verbose_name_plural = _("sign-off decisions")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()}: request #{self.request_id}"
