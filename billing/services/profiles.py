"""Setting an account up for billing: profile, card on file, add-ons; and closing it (R5, R6)."""

from __future__ import annotations

from datetime import date, datetime

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Account, AccountStatus
from billing.gateway import CardDetails, GatewayError, get_gateway
from billing.models import (
    AccountAddOn,
    AddOn,
    BillingMode,
    BillingProfile,
    Card,
    EntryKind,
    LedgerEntry,
    Plan,
)
from billing.services.common import (
    BillingError,
    clear_nonpayment,
    lock_profile,
    require_permission,
    schedule_from,
)
from core.actors import Actor
from core.localtime import local_date, start_of_day
from core.services import change_diff

# The states in which an account's billing set-up can change: not once it is closed.
OPEN_FOR_BILLING = (
    AccountStatus.TRIAL,
    AccountStatus.ACTIVE,
    AccountStatus.PAUSED,
    AccountStatus.SUSPENDED,
)


def _refuse_closed(account: Account, what: str) -> None:
    if account.status not in OPEN_FOR_BILLING:
        raise BillingError(
            _("cannot %(what)s %(account)s: it is %(status)s; reactivate it first (R6, R7)")
            % {"what": what, "account": account, "status": account.get_status_display().lower()}
        )


def plan_get(*, code: str) -> Plan:
    try:
        return Plan.objects.get(code=code)
    except Plan.DoesNotExist:
        known = ", ".join(Plan.objects.values_list("code", flat=True)) or "none"
        raise BillingError(
            _("unknown plan %(code)s; plans: %(known)s") % {"code": repr(code), "known": known}
        ) from None


def billing_profile_check(
    *, account: Account, plan_code: str, mode: str, prepaid_months: int
) -> Plan:
    """Whether billing_profile_open would accept this (BillingError naming what is wrong);
    the plan. Forms call it to show the refusal beside the field, before anything is saved."""
    _refuse_closed(account, "open billing for")
    plan = plan_get(code=plan_code)
    if mode not in BillingMode.values:
        raise BillingError(
            _("unknown billing mode %(mode)s; modes: %(values)s")
            % {"mode": repr(mode), "values": ", ".join(BillingMode.values)}
        )
    if mode == BillingMode.PREPAID and not 1 <= prepaid_months <= 36:
        raise BillingError(
            _("a prepaid term is 1 to 36 months, not %(prepaid_months)s")
            % {"prepaid_months": prepaid_months}
        )
    if BillingProfile.objects.filter(account_id=account.pk).exists():
        raise BillingError(
            _("%(account)s already has a billing profile; change its plan instead")
            % {"account": account}
        )
    return plan


@transaction.atomic
def billing_profile_open(
    *,
    account: Account,
    plan_code: str,
    mode: str = BillingMode.MONTHLY_CARD,
    prepaid_months: int = 12,
    by: Actor,
    now: datetime,
) -> BillingProfile:
    """Start billing an account on `plan_code`. Monthly accounts are first charged on today's
    local date (the next billing run); prepaid accounts then buy their term with
    `prepaid_term_buy` or a recorded payment, and consume it month by month from a month on."""
    require_permission(by, "billing.add_billingprofile", _("open billing profiles"))
    plan = billing_profile_check(
        account=account, plan_code=plan_code, mode=mode, prepaid_months=prepaid_months
    )
    today = local_date(now, account.zone)
    first = today if mode == BillingMode.MONTHLY_CARD else None
    return BillingProfile.objects.create(
        account=account,
        plan=plan,
        mode=mode,
        prepaid_months=prepaid_months,
        anchor_day=today.day,
        next_billing_date=first,
        due_at=start_of_day(first, account.zone) if first else None,
    )


@transaction.atomic
def billing_profile_change(
    *,
    account: Account,
    plan_code: str,
    mode: str,
    prepaid_months: int,
    auto_renew: bool,
    by: Actor,
    now: datetime,
) -> list[list[str]]:
    """Change how an account pays: its plan (charged from the next billing date on), the
    billing mode, the prepaid term, automatic renewal. The account a profile bills is fixed.
    Refused: a closed account, a plan in another currency than the add-ons or the prepaid
    balance, a change of mode while prepaid balance is left. Returns the changes ([field, old,
    new]); none when nothing differs."""
    require_permission(by, "billing.change_billingprofile", _("change billing profiles"))
    profile = lock_profile(account)
    account = profile.account
    _refuse_closed(account, "change the billing of")
    plan = plan_get(code=plan_code)
    if mode not in BillingMode.values:
        raise BillingError(
            _("unknown billing mode %(mode)s; modes: %(values)s")
            % {"mode": repr(mode), "values": ", ".join(BillingMode.values)}
        )
    if not 1 <= prepaid_months <= 36:
        raise BillingError(
            _("a prepaid term is 1 to 36 months, not %(prepaid_months)s")
            % {"prepaid_months": prepaid_months}
        )
    wanted = {"plan": plan, "mode": mode, "prepaid_months": prepaid_months}
    wanted["auto_renew"] = bool(auto_renew)
    changes = change_diff(entry=profile, wanted=wanted)
    if not changes:
        return []
    balance_currency = profile.plan.currency if profile.plan else plan.currency
    if plan.currency != balance_currency and profile.prepaid_balance > 0:
        raise BillingError(
            _(
                "%(account)s holds a prepaid balance of %(prepaid_balance)s "
                "%(balance_currency)s; a plan in %(currency)s cannot take it "
                "over"
            )
            % {
                "account": account,
                "prepaid_balance": profile.prepaid_balance,
                "balance_currency": balance_currency,
                "currency": plan.currency,
            }
        )
    foreign = [
        sub.addon.name
        for sub in AccountAddOn.objects.filter(account_id=account.pk, cancelled_at__isnull=True)
        .select_related("addon")
        .exclude(addon__currency=plan.currency)
    ]
    if foreign:
        raise BillingError(
            _(
                "the add-on(s) %(foreign)s of %(account)s are not priced in "
                "%(currency)s; cancel them before moving to %(name)s"
            )
            % {
                "foreign": ", ".join(foreign),
                "account": account,
                "currency": plan.currency,
                "name": plan.name,
            }
        )
    if mode != profile.mode and profile.prepaid_balance > 0:
        raise BillingError(
            _(
                "%(account)s still holds a prepaid balance of "
                "%(prepaid_balance)s: it stays prepaid until the balance is "
                "used (prepayments are not refunded, R5)"
            )
            % {"account": account, "prepaid_balance": profile.prepaid_balance}
        )
    if mode != profile.mode and mode == BillingMode.MONTHLY_CARD and profile.due_at is None:
        # A prepaid account that never bought its term starts monthly billing today.
        today = local_date(now, account.zone)
        schedule_from(profile, first=today, anchor_day=today.day)
    for field, value in wanted.items():
        setattr(profile, field, value)
    profile.save()
    return changes


# A card's expiry lies at most this many years ahead (issuers print 3 to 10): anything further
# is a typing error, not a card.
CARD_YEARS_AHEAD = 20


def card_check(
    *, token: str, today: date, exp_month: int | None = None, exp_year: int | None = None
) -> tuple[CardDetails, int, int]:
    """What card_attach would put on file for this token: the gateway's details and the
    expiry (month, year); BillingError naming what is wrong (an unknown token, an expiry that
    is no month, already past on `today`, or absurdly far ahead). Forms call it before saving."""
    token = (token or "").strip()
    if not token:
        raise BillingError(_("a card token is required"))
    try:
        details = get_gateway().card_details(token=token)
    except GatewayError as exc:
        raise BillingError(str(exc)) from None
    month = exp_month or details.exp_month
    year = exp_year or details.exp_year
    _check_expiry(month=month, year=year, today=today)
    return details, month, year


def _check_expiry(*, month: int, year: int, today: date) -> None:
    if not 1 <= month <= 12:
        raise BillingError(_("expiry month %(month)s is not 1 to 12") % {"month": month})
    if (year, month) < (today.year, today.month):
        raise BillingError(
            _("the card expired in %(month)s/%(year)s; attach a current card")
            % {"month": format(month, "02d"), "year": year}
        )
    if year > today.year + CARD_YEARS_AHEAD:
        raise BillingError(
            _("expiry year %(year)s is more than %(years)s years ahead; check the card")
            % {"year": year, "years": CARD_YEARS_AHEAD}
        )


@transaction.atomic
def card_attach(
    *,
    account: Account,
    token: str,
    by: Actor,
    now: datetime,
    exp_month: int | None = None,
    exp_year: int | None = None,
) -> Card:
    """Put a tokenised card on file (replacing any other). Brand, last four and expiry come
    from the gateway; an expiry given here (from the gateway's card form) takes precedence."""
    require_permission(by, "billing.add_card", _("put cards on file"))
    token = (token or "").strip()
    details, month, year = card_check(
        token=token, today=local_date(now, account.zone), exp_month=exp_month, exp_year=exp_year
    )
    locked = Account.objects.select_for_update().get(pk=account.pk)
    _refuse_closed(locked, "put a card on file for")
    card, _created = Card.objects.update_or_create(
        account=account,
        defaults={
            "token": token,
            "brand": details.brand,
            "last4": details.last4,
            "exp_month": month,
            "exp_year": year,
            "added_at": now,
        },
    )
    return card


@transaction.atomic
def addon_subscribe(*, account: Account, addon_code: str, by: Actor, now: datetime) -> AccountAddOn:
    """Add a catalogue add-on to the account, billed monthly with the plan (R6: never to a
    closed account)."""
    require_permission(by, "billing.add_accountaddon", _("add add-ons"))
    profile = lock_profile(account)
    _refuse_closed(profile.account, "add an add-on to")
    try:
        addon = AddOn.objects.get(code=addon_code, active=True)
    except AddOn.DoesNotExist:
        raise BillingError(
            _("unknown add-on %(addon_code)s") % {"addon_code": repr(addon_code)}
        ) from None
    plan = profile.plan
    if plan is not None and addon.currency != plan.currency:
        raise BillingError(
            _("add-on %(name)s is priced in %(currency)s, the account is billed in %(currency2)s")
            % {"name": addon.name, "currency": addon.currency, "currency2": plan.currency}
        )
    existing = AccountAddOn.objects.filter(
        account_id=account.pk, addon=addon, cancelled_at__isnull=True
    ).first()
    return existing or AccountAddOn.objects.create(account=account, addon=addon, started_at=now)


@transaction.atomic
def card_expiry_change(
    *, account: Account, exp_month: int, exp_year: int, by: Actor, now: datetime
) -> list[list[str]]:
    """Correct the expiry of the card on file (as the customer reads it from the card),
    validated as when it was attached. Returns the changes."""
    require_permission(by, "billing.change_card", _("change cards on file"))
    locked = Account.objects.select_for_update().get(pk=account.pk)
    card = Card.objects.select_for_update().filter(account_id=locked.pk).first()
    if card is None:
        raise BillingError(_("%(locked)s has no card on file") % {"locked": locked})
    _check_expiry(month=exp_month, year=exp_year, today=local_date(now, locked.zone))
    changes = change_diff(entry=card, wanted={"exp_month": exp_month, "exp_year": exp_year})
    if changes:
        card.exp_month, card.exp_year = exp_month, exp_year
        card.save(update_fields=["exp_month", "exp_year"])
    return changes


@transaction.atomic
def addon_cancel(*, subscription: AccountAddOn, by: Actor, now: datetime) -> bool:
    """Cancel an account's add-on from now on (no more monthly charge for it); returns False
    when it already was."""
    require_permission(by, "billing.change_accountaddon", _("cancel add-ons"))
    Account.objects.select_for_update().get(pk=subscription.account_id)
    locked = AccountAddOn.objects.select_for_update().get(pk=subscription.pk)
    if locked.cancelled_at is not None:
        return False
    locked.cancelled_at = now
    locked.save(update_fields=["cancelled_at"])
    subscription.cancelled_at = now
    return True


def billing_close_for_cancellation(
    *, account: Account, by: Actor, now: datetime, status_before: str
) -> None:
    """R5, R6: on cancellation every add-on is cancelled and the remaining prepaid balance is
    forfeited as a ledger entry; nothing already charged is refunded (R3) and nothing more is
    billed, except a billing date that had begun unbilled while the account was active (R3
    spares only cancellations before the date). `status_before` is the account's state before
    the cancellation. Called inside the cancellation's transaction."""
    AccountAddOn.objects.filter(account_id=account.pk, cancelled_at__isnull=True).update(
        cancelled_at=now
    )
    profile = (
        BillingProfile.objects.select_for_update(of=("self",))
        .select_related("plan")
        .filter(account_id=account.pk)
        .first()
    )
    if profile is None:
        return
    if profile.prepaid_balance > 0:
        LedgerEntry.objects.create(
            account_id=account.pk,
            at=now,
            kind=EntryKind.FORFEITURE,
            amount=profile.prepaid_balance,
            currency=profile.currency,
            prepaid_balance_after=0,
            description="Prepaid balance forfeited on cancellation; prepayments are not "
            "refundable (R5)",
            **by.as_fields(),
        )
        profile.prepaid_balance = 0
    # A charge in flight keeps the profile due: the run records what the gateway answers.
    in_flight = bool(profile.charge_key)
    if not in_flight and not _billing_date_begun_unbilled(
        profile, now=now, status_before=status_before
    ):
        profile.due_at = None
    profile.closed_at = now
    profile.save(update_fields=["prepaid_balance", "due_at", "closed_at"])


def _billing_date_begun_unbilled(profile: BillingProfile, *, now: datetime, status_before: str):
    """An active monthly account cancelled on its billing date, before the run charged it:
    that date is still owed (R3), so the profile stays due for the run. Paused and suspended
    accounts are not charged on the way out."""
    if profile.mode != BillingMode.MONTHLY_CARD or profile.due_at is None or profile.due_at > now:
        return False
    if profile.card_declines or profile.unpaid_since is not None:
        return False
    return status_before == AccountStatus.ACTIVE


@transaction.atomic
def billing_reopen(*, account: Account, by: Actor, now: datetime) -> None:
    """After a reactivation (R7): billing starts again today on the local calendar, as a new
    month, with no catch-up for the months the account was closed."""
    profile = (
        BillingProfile.objects.select_for_update(of=("self",))
        .filter(account_id=account.pk, plan__isnull=False)
        .first()
    )
    if profile is None:
        return
    profile.account = account  # the caller's locked row; its zone without another query
    today = local_date(now, account.zone)
    schedule_from(profile, first=today, anchor_day=today.day)
    clear_nonpayment(profile)
    profile.closed_at = None
    profile.save()


@transaction.atomic
def billing_rezone(*, account: Account) -> datetime | None:
    """The account's time zone changed (`account` carries the new one): its billing date stays
    the same local day, so the moment it is due, and the R3 cut-off with it, moves to the start
    of that day in the new zone (a card retry's day likewise). Returns the new due moment when
    it moved, else None."""
    profile = (
        BillingProfile.objects.select_for_update(of=("self",))
        .filter(account_id=account.pk, due_at__isnull=False)
        .first()
    )
    if profile is None:
        return None
    day = profile.retry_on if profile.card_declines and profile.retry_on else None
    day = day or profile.next_billing_date
    if day is None:
        return None
    due_at = start_of_day(day, account.zone)
    if due_at == profile.due_at:
        return None
    profile.due_at = due_at
    profile.save(update_fields=["due_at"])
    return due_at
