"""Plans, add-ons, billing profiles, cards on file, card charge attempts and the ledger.

Money is always a Decimal with two places plus an ISO currency code, never a float. Writes go
through ``billing.services``; the models hold no business rules.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from core.models import AppendOnlyModel, ByFields, KeptModel
from core.validators import no_control_characters

MONEY = {"max_digits": 12, "decimal_places": 2}


class Plan(KeptModel):
    """A subscription plan with its monthly price in one currency."""

    code = models.SlugField(max_length=40, unique=True, verbose_name=_("code"))
    name = models.CharField(
        max_length=100, validators=[no_control_characters], verbose_name=_("name")
    )
    monthly_price = models.DecimalField(
        **MONEY, validators=[MinValueValidator(Decimal("0"))], verbose_name=_("monthly price")
    )
    currency = models.CharField(max_length=3, default="USD", verbose_name=_("currency"))
    active = models.BooleanField(
        default=True, help_text=_("Offered to new customers."), verbose_name=_("active")
    )

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["currency", "monthly_price"]

    def __str__(self) -> str:
        return f"{self.name} ({self.monthly_price} {self.currency}/month)"


class AddOn(KeptModel):
    """An extra service in the catalogue, billed monthly on top of the plan."""

    code = models.SlugField(max_length=40, unique=True, verbose_name=_("code"))
    name = models.CharField(
        max_length=100, validators=[no_control_characters], verbose_name=_("name")
    )
    monthly_price = models.DecimalField(
        **MONEY, validators=[MinValueValidator(Decimal("0"))], verbose_name=_("monthly price")
    )
    currency = models.CharField(max_length=3, default="USD", verbose_name=_("currency"))
    active = models.BooleanField(default=True, verbose_name=_("active"))

    class Meta:
        ordering = ["currency", "name"]
        verbose_name = _("add-on")
        verbose_name_plural = _("add-ons")

    def __str__(self) -> str:
        return f"{self.name} ({self.monthly_price} {self.currency}/month)"


class AccountAddOn(KeptModel):
    """An add-on an account subscribed to; cancelled with the account (R6)."""

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="addons", verbose_name=_("account")
    )
    addon = models.ForeignKey(
        AddOn, on_delete=models.PROTECT, related_name="subscriptions", verbose_name=_("add-on")
    )
    started_at = models.DateTimeField(verbose_name=_("started at"))
    cancelled_at = models.DateTimeField(null=True, blank=True, verbose_name=_("cancelled at"))

    class Meta:
        verbose_name = _("account add-on")
        verbose_name_plural = _("account add-ons")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "addon"],
                condition=models.Q(cancelled_at__isnull=True),
                name="billing_one_active_addon_per_account",
            )
        ]
        indexes = [
            models.Index(
                fields=["account"],
                condition=models.Q(cancelled_at__isnull=True),
                name="billing_addon_active_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.addon.name} for {self.account}"

    @property
    def is_active(self) -> bool:
        return self.cancelled_at is None


class BillingMode(models.TextChoices):
    MONTHLY_CARD = "monthly_card", _("Monthly, by card")
    PREPAID = "prepaid", _("Prepaid term")


class BillingProfile(KeptModel):
    """How and when an account pays: its plan, monthly card or prepaid term, next billing date,
    prepaid balance and non-payment state."""

    account = models.OneToOneField(
        Account, on_delete=models.PROTECT, related_name="billing_profile", verbose_name=_("account")
    )
    plan = models.ForeignKey(
        Plan, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("plan")
    )
    mode = models.CharField(
        max_length=16,
        choices=BillingMode.choices,
        default=BillingMode.MONTHLY_CARD,
        verbose_name=_("mode"),
    )
    prepaid_months = models.PositiveSmallIntegerField(
        default=12,
        help_text=_("Length of a prepaid term in months; a renewal buys the same term."),
        verbose_name=_("prepaid months"),
    )
    auto_renew = models.BooleanField(
        default=True,
        help_text=_("Renew the prepaid term by card when the balance reaches zero."),
        verbose_name=_("auto renew"),
    )
    # The day of month the account is billed on; months without it bill on their last day.
    anchor_day = models.PositiveSmallIntegerField(default=1, verbose_name=_("anchor day"))
    # The local calendar date (account.zone) of the next charge, and its first moment in UTC:
    # the billing run selects on the indexed instant, staff read the date.
    next_billing_date = models.DateField(null=True, blank=True, verbose_name=_("next billing date"))
    due_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_(
            "When the billing run next acts on this account (a billing date or a card "
            "retry), in UTC. Empty: nothing is due (unpaid, cancelled, no plan)."
        ),
        verbose_name=_("due at"),
    )
    prepaid_balance = models.DecimalField(
        **MONEY, default=Decimal("0.00"), verbose_name=_("prepaid balance")
    )
    # Declines of the current period's card charge, the day of the first one, and the local
    # day of the next retry (R11): each retry is counted from the attempt before it.
    card_declines = models.PositiveSmallIntegerField(default=0, verbose_name=_("card declines"))
    first_declined_on = models.DateField(null=True, blank=True, verbose_name=_("first declined on"))
    retry_on = models.DateField(null=True, blank=True, verbose_name=_("retry on"))
    # "Marked unpaid" by the billing run; the suspension job acts on it.
    unpaid_since = models.DateTimeField(null=True, blank=True, verbose_name=_("unpaid since"))
    unpaid_reason = models.CharField(max_length=200, blank=True, verbose_name=_("unpaid reason"))
    suspended_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When the account was suspended for non-payment."),
        verbose_name=_("suspended at"),
    )
    notice_sent_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When the suspension notice was sent (once)."),
        verbose_name=_("notice sent at"),
    )
    # A sender's claim on the suspension notice, taken before the mail server is called and
    # lapsing after billing.services.nonpayment.NOTICE_CLAIM_LEASE; its end is its token (a
    # later run takes a lapsed claim over with a later end).
    notice_claimed_until = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("notice claimed until")
    )
    # Billing's own record of the account's closing (cancellation), cleared by a reactivation:
    # a billing date that had begun unbilled by then is still owed (R3).
    closed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When billing closed with the account's cancellation."),
        verbose_name=_("closed at"),
    )
    # A card charge in flight (billing.services.charging): written and committed before the
    # gateway is called, cleared in the transaction that records its outcome. While it is set,
    # money actions on the account are refused and the profile stays due; a claim left by a
    # crash is sent again with the same idempotency key once its lease lapses, and the gateway
    # answers with the first charge. No index: the run finds them among the due profiles, and
    # the claim is written without touching an indexed column.
    charge_key = models.CharField(
        max_length=120,
        blank=True,
        help_text=_(
            "Idempotency key of a card charge sent to the gateway whose outcome is not "
            "recorded yet; empty when none is in flight."
        ),
        verbose_name=_("charge key"),
    )
    charge_purpose = models.CharField(max_length=20, blank=True, verbose_name=_("charge purpose"))
    charge_period = models.DateField(null=True, blank=True, verbose_name=_("charge period"))
    charge_amount = models.DecimalField(
        **MONEY, null=True, blank=True, verbose_name=_("charge amount")
    )
    charge_currency = models.CharField(max_length=3, blank=True, verbose_name=_("charge currency"))
    # Who holds the charge in flight (a billing run's step, or a staff action) and until when;
    # after that moment another run may take it over.
    charge_claim = models.CharField(max_length=48, blank=True, verbose_name=_("charge claim"))
    charge_claimed_until = models.DateTimeField(
        null=True, blank=True, verbose_name=_("charge claimed until")
    )

    class Meta:
        verbose_name = _("billing profile")
        verbose_name_plural = _("billing profiles")
        permissions = [
            ("record_payment", "Can record a payment"),
            ("retry_card", "Can retry the card on file now"),
        ]
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=models.Q(due_at__isnull=False),
                name="billing_profile_due_idx",
            ),
            models.Index(
                fields=["unpaid_since"],
                condition=models.Q(unpaid_since__isnull=False),
                name="billing_profile_unpaid_idx",
            ),
            # The "suspended, days unpaid" and "cancels within 7 days" lists and counts: the
            # account and the profile's own key come from the index too, so counting and
            # finding a page's keys join index to index.
            models.Index(
                fields=["suspended_at"],
                include=["account", "id"],
                condition=models.Q(suspended_at__isnull=False),
                name="billing_suspended_keys_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"billing of {self.account}"

    @property
    def currency(self) -> str:
        return self.plan.currency if self.plan_id else "USD"


class Card(KeptModel):
    """The card on file: the gateway's token plus what staff may see; never a card number."""

    account = models.OneToOneField(
        Account, on_delete=models.PROTECT, related_name="card", verbose_name=_("account")
    )
    token = models.CharField(
        max_length=100, help_text=_("The payment gateway's token."), verbose_name=_("token")
    )
    brand = models.CharField(max_length=20, verbose_name=_("brand"))
    last4 = models.CharField(_("last four digits"), max_length=4)
    exp_month = models.PositiveSmallIntegerField(verbose_name=_("expiry month"))
    exp_year = models.PositiveSmallIntegerField(verbose_name=_("expiry year"))
    added_at = models.DateTimeField(verbose_name=_("added at"))

    class Meta:
        verbose_name = _("card on file")
        verbose_name_plural = _("cards on file")
        # The staff's search by the last four digits (a caller reads them from the card).
        indexes = [models.Index(fields=["last4"], name="billing_card_last4_idx")]

    def __str__(self) -> str:
        return f"{self.brand} •••• {self.last4} (expires {self.exp_month:02d}/{self.exp_year})"

    def is_valid_on(self, day: date) -> bool:
        """A card is valid through the last day of its expiry month."""
        return (day.year, day.month) <= (self.exp_year, self.exp_month)


class ChargePurpose(models.TextChoices):
    """What a card charge pays for: the closed list the billing services charge for."""

    CHARGE = "charge", _("Monthly charge")
    PAUSE_FEE = "pause_fee", _("Pause fee")
    RENEWAL = "renewal", _("Prepaid renewal")
    PURCHASE = "purchase", _("Prepaid term bought")


class CardChargeAttempt(AppendOnlyModel, ByFields):
    """One call to the payment gateway to charge a card, whatever came of it (R12)."""

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded", _("Succeeded")
        DECLINED = "declined", _("Declined")
        FAILED = "failed", _("Failed (gateway unavailable)")

    # With the id (its index below), not alone: the account's last row is one probe.
    account = models.ForeignKey(
        Account,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        verbose_name=_("account"),
    )
    at = models.DateTimeField(verbose_name=_("at"))
    # Closed choices: the list's purpose filter offers them without a DISTINCT over every
    # attempt.
    purpose = models.CharField(
        max_length=20, choices=ChargePurpose.choices, verbose_name=_("purpose")
    )
    period = models.DateField(null=True, blank=True, verbose_name=_("period"))
    amount = models.DecimalField(**MONEY, verbose_name=_("amount"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    idempotency_key = models.CharField(max_length=120, verbose_name=_("idempotency key"))
    outcome = models.CharField(max_length=10, choices=Outcome.choices, verbose_name=_("outcome"))
    gateway_reference = models.CharField(
        max_length=100, blank=True, verbose_name=_("gateway reference")
    )
    message = models.CharField(max_length=200, blank=True, verbose_name=_("message"))

    class Meta:
        verbose_name = _("card charge attempt")
        verbose_name_plural = _("card charge attempts")
        ordering = ["-at", "-id"]
        constraints = [
            # A key the gateway accepted is never used for a second charge.
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=models.Q(outcome="succeeded"),
                name="billing_attempt_key_once",
            )
        ]
        indexes = [
            models.Index(fields=["account", "-at"], name="billing_attempt_account_idx"),
            models.Index(fields=["account", "id"], name="billing_attempt_account_id_idx"),
            # The list of attempts, newest first (its ordering), without sorting every one.
            models.Index(fields=["-at", "-id"], name="billing_attempt_at_idx"),
            # The list filtered by a rare purpose or outcome (all but a few percent are monthly
            # charges that succeeded): newest first and counted from these small indexes,
            # instead of walking every attempt for a page of them.
            models.Index(
                fields=["purpose", "-at", "-id"],
                condition=~models.Q(purpose="charge"),
                name="billing_attempt_purpose_idx",
            ),
            models.Index(
                fields=["outcome", "-at", "-id"],
                condition=~models.Q(outcome="succeeded"),
                name="billing_attempt_outcome_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} {self.amount} {self.currency}: {self.outcome}"


class EntryKind(models.TextChoices):
    CHARGE = "charge", _("Charge (plan and add-ons)")
    CARD_PAYMENT = "card_payment", _("Card payment")
    PAYMENT = "payment", _("Payment recorded")
    PREPAYMENT_PURCHASE = "prepayment_purchase", _("Prepayment purchase")
    PREPAID_CONSUMPTION = "prepaid_consumption", _("Prepaid month consumed")
    PAUSE_FEE = "pause_fee", _("Pause fee")
    FORFEITURE = "forfeiture", _("Prepaid balance forfeited on cancellation")
    REFUND = "refund", _("Refund")


# What bills a period: each account pays each of its periods at most once, through one of
# these (the database enforces it).
PERIOD_KINDS = (EntryKind.CHARGE, EntryKind.PREPAID_CONSUMPTION, EntryKind.PAUSE_FEE)
# Prepayments are never refunded (R5).
PREPAYMENT_KINDS = (
    EntryKind.PREPAYMENT_PURCHASE,
    EntryKind.PREPAID_CONSUMPTION,
    EntryKind.FORFEITURE,
)
REFUNDABLE_KINDS = (EntryKind.CHARGE, EntryKind.PAUSE_FEE)
# Most of the ledger (each month's charge and its card payment, in the two currencies most
# accounts pay in): left out of the kind and currency indexes; their filters find a page of
# them near the top of the time index and take the count's estimate. Prepaid months are not
# among them: they bunch in time, and a page of them was a walk down most of the ledger.
COMMON_KINDS = (EntryKind.CHARGE, EntryKind.CARD_PAYMENT)
COMMON_CURRENCIES = ("USD", "EUR")


class LedgerEntry(AppendOnlyModel, ByFields):
    """One money movement of an account; never edited or deleted, not even by raw SQL (R12)."""

    # With the id (its index below), not alone: the account's last row is one probe.
    account = models.ForeignKey(
        Account,
        on_delete=models.PROTECT,
        related_name="ledger",
        db_index=False,
        verbose_name=_("account"),
    )
    at = models.DateTimeField(verbose_name=_("at"))
    kind = models.CharField(max_length=24, choices=EntryKind.choices, verbose_name=_("kind"))
    # Always positive; the kind says which way the money went.
    amount = models.DecimalField(
        **MONEY, validators=[MinValueValidator(Decimal("0"))], verbose_name=_("amount")
    )
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    # The billing date (local) of the period this entry bills, if it bills one.
    period = models.DateField(null=True, blank=True, verbose_name=_("period"))
    description = models.CharField(max_length=200, blank=True, verbose_name=_("description"))
    prepaid_balance_after = models.DecimalField(
        **MONEY, null=True, blank=True, verbose_name=_("prepaid balance after")
    )
    reference = models.CharField(
        max_length=120,
        blank=True,
        help_text=_("Gateway charge id or payment reference."),
        verbose_name=_("reference"),
    )
    refund_of = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="refunded_by",
        verbose_name=_("refund of"),
    )

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger")
        permissions = [("refund_charge", "Can refund a charge")]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "period"],
                condition=models.Q(kind__in=PERIOD_KINDS),
                name="billing_period_charged_once",
            ),
            models.UniqueConstraint(
                fields=["account", "period"],
                condition=models.Q(kind="prepayment_purchase", period__isnull=False),
                name="billing_period_renewed_once",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="billing_ledger_amount_not_negative"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="refund") | models.Q(refund_of__isnull=False),
                name="billing_refund_names_its_entry",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "-at"], name="billing_ledger_account_idx"),
            models.Index(fields=["account", "id"], name="billing_ledger_account_id_idx"),
            # The ledger list, newest first, without sorting every entry.
            models.Index(fields=["-at", "-id"], name="billing_ledger_at_idx"),
            # The staff's search by a gateway's charge id or a payment's reference.
            models.Index(
                fields=["reference"],
                condition=~models.Q(reference=""),
                name="billing_ledger_reference_idx",
            ),
            # The list filtered by a kind or currency other than the common ones (above): newest
            # first and counted from these small indexes. Without them a refund's or a pound's
            # page walks the whole ledger's time index for its rows and counts every entry.
            models.Index(
                fields=["kind", "-at", "-id"],
                condition=~models.Q(kind__in=COMMON_KINDS),
                name="billing_ledger_kind_idx",
            ),
            models.Index(
                fields=["currency", "-at", "-id"],
                condition=~models.Q(currency__in=COMMON_CURRENCIES),
                name="billing_ledger_currency_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {self.currency} ({self.account})"
