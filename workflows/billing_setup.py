"""An account's billing set-up as staff change it (R12): billing changes its own records, and
the account's timeline says who changed what (old → new), in one transaction. Opening billing
for a trial is the customer choosing a paid plan: the trial becomes active (lifecycle)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Account, AccountStatus, EventKind
from accounts.services import account_activate, account_event_record, account_lock
from billing.models import AccountAddOn, BillingMode, BillingProfile, Card
from billing.services import (
    BillingError,
    addon_cancel,
    addon_subscribe,
    billing_profile_change,
    billing_profile_open,
    card_attach,
    card_expiry_change,
)
from core.actors import Actor


def _said(changes: list[list[str]]) -> str:
    return "; ".join(f"{field.replace('_', ' ')}: {old} → {new}" for field, old, new in changes)


@transaction.atomic
def billing_open(
    *,
    account: Account,
    plan_code: str,
    mode: str = BillingMode.MONTHLY_CARD,
    prepaid_months: int = 12,
    by: Actor,
    now: datetime,
) -> BillingProfile:
    """Start billing an account on a plan; a trial becomes active (a paid plan was chosen)."""
    locked = account_lock(account)
    profile = billing_profile_open(
        account=locked,
        plan_code=plan_code,
        mode=mode,
        prepaid_months=prepaid_months,
        by=by,
        now=now,
    )
    account_event_record(
        account=locked,
        kind=EventKind.BILLING_OPENED,
        by=by,
        now=now,
        reason=f"Billed on {profile.plan}, {profile.get_mode_display().lower()}",
    )
    if locked.status == AccountStatus.TRIAL:
        account_activate(account=locked, by=by, now=now, reason=f"Chose {profile.plan}")
    account.status = locked.status
    return profile


@transaction.atomic
def billing_change(
    *,
    account: Account,
    plan_code: str,
    mode: str,
    prepaid_months: int,
    auto_renew: bool,
    by: Actor,
    now: datetime,
    reason: str,
) -> list[list[str]]:
    """Change how an account pays (billing.services.billing_profile_change), with the reason;
    the timeline lists each change. Returns the changes."""
    if not (reason or "").strip():
        raise BillingError(_("say why the billing changes (R12); nothing was changed"))
    locked = account_lock(account)
    changes = billing_profile_change(
        account=locked,
        plan_code=plan_code,
        mode=mode,
        prepaid_months=prepaid_months,
        auto_renew=auto_renew,
        by=by,
        now=now,
    )
    if changes:
        account_event_record(
            account=locked,
            kind=EventKind.BILLING_CHANGED,
            by=by,
            now=now,
            reason=f"{_said(changes)} ({reason.strip()})",
        )
    return changes


@transaction.atomic
def card_put_on_file(
    *,
    account: Account,
    token: str,
    by: Actor,
    now: datetime,
    exp_month: int | None = None,
    exp_year: int | None = None,
) -> Card:
    """Put a tokenised card on file (replacing any other); the timeline names the card, never
    its token."""
    locked = account_lock(account)
    card = card_attach(
        account=locked, token=token, by=by, now=now, exp_month=exp_month, exp_year=exp_year
    )
    account_event_record(
        account=locked, kind=EventKind.CARD_ATTACHED, by=by, now=now, reason=f"{card} on file"
    )
    return card


@transaction.atomic
def card_expiry_correct(
    *, account: Account, exp_month: int, exp_year: int, by: Actor, now: datetime, reason: str
) -> list[list[str]]:
    """Correct the card's expiry, with the reason, on the timeline."""
    locked = account_lock(account)
    changes = card_expiry_change(
        account=locked, exp_month=exp_month, exp_year=exp_year, by=by, now=now
    )
    if changes:
        account_event_record(
            account=locked,
            kind=EventKind.CARD_CHANGED,
            by=by,
            now=now,
            reason=f"{_said(changes)} ({(reason or '').strip() or 'corrected'})",
        )
    return changes


@transaction.atomic
def addon_add(*, account: Account, addon_code: str, by: Actor, now: datetime) -> AccountAddOn:
    """Add a catalogue add-on (never to a closed account, R6), on the timeline."""
    locked = account_lock(account)
    before = set(
        AccountAddOn.objects.filter(account_id=locked.pk, cancelled_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    subscription = addon_subscribe(account=locked, addon_code=addon_code, by=by, now=now)
    if subscription.pk not in before:
        account_event_record(
            account=locked,
            kind=EventKind.ADDON_ADDED,
            by=by,
            now=now,
            reason=f"{subscription.addon} added",
        )
    return subscription


@transaction.atomic
def addon_remove(*, subscription: AccountAddOn, by: Actor, now: datetime, reason: str) -> bool:
    """Cancel an add-on from now on, with the reason, on the timeline."""
    locked = account_lock(subscription.account)
    cancelled = addon_cancel(subscription=subscription, by=by, now=now)
    if cancelled:
        account_event_record(
            account=locked,
            kind=EventKind.ADDON_CANCELLED,
            by=by,
            now=now,
            reason=f"{subscription.addon.name} cancelled ({(reason or '').strip() or 'by staff'})",
        )
    return cancelled
