"""Reads about billing: next billing dates and R3's cut-off, R11's cancellation day, and the
questions staff ask in the admin.

R3 has one definition here, ``billing_date_cutoff``: a billing date is due (the run charges it,
a cancellation no longer avoids it) from the first moment of that day in the account's time
zone. The run's ``due_at``, the desk's "in time", the account page and the confirmation email
all come from it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Case, Count, DecimalField, F, Q, QuerySet, Sum, Value, When, Window
from django.db.models.expressions import RawSQL

from accounts.models import Account, AccountStatus
from billing import conf
from billing.models import BillingMode, BillingProfile, EntryKind, LedgerEntry
from core.localtime import days_between, local_date, start_of_day


def billing_date_cutoff(*, billing_date: date, zone: ZoneInfo) -> datetime:
    """R3: the first moment of `billing_date` in the account's time zone. A cancellation
    recorded before it is in time (that date is never charged); from it on, the date is due."""
    return start_of_day(billing_date, zone)


def next_billing_date(*, account: Account) -> date | None:
    """The local calendar date of the account's next charge attempt; None when nothing will be
    charged (a trial, a closed account, no plan, or unpaid and waiting for a payment)."""
    if account.status not in (AccountStatus.ACTIVE, AccountStatus.PAUSED):
        return None
    profile = BillingProfile.objects.filter(account_id=account.pk).only("due_at", "plan").first()
    if profile is None:
        return None
    profile.account = account
    return profile_next_billing_date(profile=profile)


def profile_next_billing_date(*, profile: BillingProfile) -> date | None:
    """``next_billing_date`` of the profile's account, from the profile and account already
    read: a list of profiles shows it on every row without a query per row."""
    account = profile.account
    if account.status not in (AccountStatus.ACTIVE, AccountStatus.PAUSED):
        return None
    if profile.plan_id is None or profile.due_at is None:
        return None
    return local_date(profile.due_at, account.zone)


def cancellation_deadline(*, account: Account) -> datetime | None:
    """The last moment to cancel without the next charge (R3); None when no billing date is
    due."""
    billing_date = next_billing_date(account=account)
    if billing_date is None:
        return None
    return billing_date_cutoff(billing_date=billing_date, zone=account.zone)


def profile_cancellation_deadline(*, profile: BillingProfile) -> datetime | None:
    """``cancellation_deadline`` from the profile and account already read (R3)."""
    billing_date = profile_next_billing_date(profile=profile)
    if billing_date is None:
        return None
    return billing_date_cutoff(billing_date=billing_date, zone=profile.account.zone)


def in_time_for(*, billing_date: date | None, account: Account, at: datetime) -> bool | None:
    """Whether a cancellation at `at` comes before `billing_date` begins locally (R3); None
    when no billing date was due (nothing to be in time for)."""
    if billing_date is None:
        return None
    return at < billing_date_cutoff(billing_date=billing_date, zone=account.zone)


def call_is_in_time(*, account: Account, at: datetime) -> bool:
    """Whether a cancellation recorded at `at` is before the next billing date (R3). With no
    billing date due, nothing would be charged, so it is in time."""
    return in_time_for(billing_date=next_billing_date(account=account), account=account, at=at) in (
        True,
        None,
    )


def unpaid_cancel_offset() -> timedelta:
    """R11: an account suspended for non-payment is cancelled on day UNPAID_CANCEL_AFTER_DAYS
    + 1 of its suspension ("after 90 days" is day 91), day 0 being the suspension's day."""
    return timedelta(days=conf.unpaid_cancel_after_days() + 1)


def unpaid_cancel_day(*, suspended_at: datetime, zone: ZoneInfo) -> date:
    """R11: the local day an account suspended for non-payment at `suspended_at` is cancelled
    on (``unpaid_cancel_offset``)."""
    return local_date(suspended_at, zone) + unpaid_cancel_offset()


def unpaid_cancel_is_due(*, profile: BillingProfile, as_of: datetime) -> bool:
    """Whether `profile`'s account, suspended for non-payment, is cancelled as of `as_of` (R11)."""
    if profile.suspended_at is None:
        return False
    zone = profile.account.zone
    return local_date(as_of, zone) >= unpaid_cancel_day(
        suspended_at=profile.suspended_at, zone=zone
    )


def days_unpaid(*, profile: BillingProfile, as_of: datetime) -> int | None:
    """Whole local days since the suspension for non-payment (day 0 is its day)."""
    if profile.suspended_at is None:
        return None
    return days_between(profile.suspended_at, as_of, profile.account.zone)


def unpaid_cancel_date(*, profile: BillingProfile) -> date | None:
    """The local date a suspended-for-non-payment account is cancelled on (R11: day 91)."""
    if profile.suspended_at is None:
        return None
    return unpaid_cancel_day(suspended_at=profile.suspended_at, zone=profile.account.zone)


def _profiles_of_suspended_accounts() -> QuerySet[BillingProfile]:
    return BillingProfile.objects.filter(account__status=AccountStatus.SUSPENDED)


def profiles_suspended_unpaid() -> QuerySet[BillingProfile]:
    """Suspended for non-payment: the account is suspended, and its suspension recorded."""
    return _profiles_of_suspended_accounts().filter(suspended_at__isnull=False)


def suspended_unpaid_zones() -> list[str]:
    """The time zones of the suspended accounts (a few among the hundreds there are), which
    include those of every profile of ``profiles_suspended_unpaid``: read from the suspended
    accounts' index alone, once for all the questions a page or a scrape asks of them."""
    # order_by(): the model's ordering would make DISTINCT run over (zone, username).
    zones = Account.objects.filter(status=AccountStatus.SUSPENDED).order_by()
    return sorted(zones.values_list("time_zone", flat=True).distinct())


def _zone_cut(zones: list[str], *, as_of: datetime, cut: Callable[[date, ZoneInfo], Q]) -> Q:
    """The profiles `cut(today, zone)` takes, zone by zone: `today` is the local date of
    `as_of` in that zone. An account of a zone not in `zones` is not taken: they must include
    every zone of the profiles the Q is applied to, and at least one."""
    wanted = Q()
    for name in zones:
        zone = ZoneInfo(name)
        wanted |= Q(account__time_zone=name) & cut(local_date(as_of, zone), zone)
    return wanted


# Days suspended for non-payment, in the bands staff filter by and operators watch (R11:
# cancelled after 90).
UNPAID_DAY_BANDS: dict[str, tuple[int, int | None]] = {
    "0-30": (0, 30),
    "31-60": (31, 60),
    "61-90": (61, 90),
    "91+": (91, None),
}


def _suspended_for_days(*, low: int, high: int | None) -> Callable[[date, ZoneInfo], Q]:
    """The cut of a zone whose local date is `today`: suspended `low` to `high` whole local
    days (day 0 is the suspension's own day, as ``days_unpaid`` counts)."""

    def cut(today: date, zone: ZoneInfo) -> Q:
        q = Q(suspended_at__lt=start_of_day(today - timedelta(days=low - 1), zone))
        if high is not None:
            q &= Q(suspended_at__gte=start_of_day(today - timedelta(days=high), zone))
        return q

    return cut


def profiles_suspended_for_days(
    *, as_of: datetime, low: int, high: int | None, zones: list[str] | None = None
) -> QuerySet[BillingProfile]:
    """Suspended for non-payment for `low` to `high` whole local days (None: no upper end), as
    the "days unpaid" column counts them (day 0 is the suspension's own day). `zones`: those
    of ``suspended_unpaid_zones``, when the caller has read them already."""
    if zones is None:
        zones = suspended_unpaid_zones()
    if not zones:
        return profiles_suspended_unpaid().none()
    # A coarse UTC range first (local days differ from UTC days by less than one day), so the
    # suspension index narrows the rows the exact cut of each zone looks at. Both bound
    # suspended_at, so only profiles suspended for non-payment pass: said once more
    # (suspended_at NOT NULL), the planner took a band of 13,000 profiles for a few hundred.
    coarse = Q(suspended_at__lt=as_of - timedelta(days=low - 2))
    if high is not None:
        coarse &= Q(suspended_at__gte=as_of - timedelta(days=high + 2))
    return _profiles_of_suspended_accounts().filter(
        coarse, _zone_cut(zones, as_of=as_of, cut=_suspended_for_days(low=low, high=high))
    )


def suspended_unpaid_count_by_band(*, as_of: datetime) -> dict[str, int]:
    """How many accounts ``profiles_suspended_for_days`` finds in each of
    ``UNPAID_DAY_BANDS``: the zones read once, every band counted in one pass over the
    profiles suspended for non-payment."""
    zones = suspended_unpaid_zones()
    if not zones:
        return dict.fromkeys(UNPAID_DAY_BANDS, 0)
    counts = {
        band: Count(
            "account",
            filter=_zone_cut(zones, as_of=as_of, cut=_suspended_for_days(low=low, high=high)),
        )
        for band, (low, high) in UNPAID_DAY_BANDS.items()
    }
    return profiles_suspended_unpaid().aggregate(**counts)


def _cancelling_within(days: int) -> Callable[[date, ZoneInfo], Q]:
    """The cut of a zone whose local date is `today`: cancelled within `days` local days."""

    def cut(today: date, zone: ZoneInfo) -> Q:
        # unpaid_cancel_day(s) <= today + days  <=>  local day of s <= today + days - offset
        last_day = today + timedelta(days=days) - unpaid_cancel_offset()
        return Q(suspended_at__lt=start_of_day(last_day + timedelta(days=1), zone))

    return cut


def _cancelling_coarse(*, as_of: datetime, days: int) -> Q:
    # Local days differ from UTC days by less than one day: a UTC range the suspension index
    # answers, before the exact cut of each zone.
    return Q(suspended_at__lt=as_of - timedelta(days=unpaid_cancel_offset().days - days - 2))


def profiles_cancelling_within(
    *, as_of: datetime, days: int, zones: list[str] | None = None
) -> QuerySet[BillingProfile]:
    """Suspended for non-payment and cancelled within `days` local days (R11: their
    ``unpaid_cancel_day`` is at most `days` days ahead; those already due are cancelled by
    the next run of the job, and are counted too). `zones`: those of
    ``suspended_unpaid_zones``, when the caller has read them already."""
    if zones is None:
        zones = suspended_unpaid_zones()
    if not zones:
        return profiles_suspended_unpaid().none()
    return profiles_suspended_unpaid().filter(
        _cancelling_coarse(as_of=as_of, days=days),
        _zone_cut(zones, as_of=as_of, cut=_cancelling_within(days)),
    )


def cancelling_within_counts(*, as_of: datetime, days: Sequence[int]) -> dict[int, int]:
    """How many profiles ``profiles_cancelling_within`` finds for each of `days`: the zones
    read once, every window counted in one pass (the dashboard's "coming up")."""
    zones = suspended_unpaid_zones()
    if not zones or not days:
        return dict.fromkeys(days, 0)
    counts = (
        profiles_suspended_unpaid()
        .filter(_cancelling_coarse(as_of=as_of, days=max(days)))
        .aggregate(
            **{
                f"within_{n}": Count(
                    "account", filter=_zone_cut(zones, as_of=as_of, cut=_cancelling_within(n))
                )
                for n in days
            }
        )
    )
    return {n: counts[f"within_{n}"] for n in days}


def profiles_prepaid_below_one_month() -> QuerySet[BillingProfile]:
    """Prepaid accounts whose balance will not cover another month of their plan."""
    return BillingProfile.objects.filter(
        mode="prepaid",
        plan__isnull=False,
        prepaid_balance__lt=F("plan__monthly_price"),
        account__status__in=(AccountStatus.ACTIVE, AccountStatus.PAUSED, AccountStatus.SUSPENDED),
    )


def ledger_for(*, account: Account) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(account_id=account.pk).order_by("-at", "-id")


# Claim tokens of staff actions (a card retry, a prepaid term bought) start with this: their
# charges in flight are completed by the same action, never taken over by the billing run.
STAFF_CLAIM_PREFIX = "staff-"


def profiles_due_for_billing(*, as_of: datetime, sender: str = "") -> QuerySet[BillingProfile]:
    """Profiles whose billing date has come as of `as_of` and that the run bills (R3, R11).

    Besides open accounts: a monthly account cancelled on its billing date before the run came
    still owes that date (R3: only a cancellation *before* the date avoids it); closing kept
    the date due (billing_close_for_cancellation), and once billed the next date lies after
    the closing, so it is never selected again.

    A profile with a card charge in flight stays due, whatever happened to its account since,
    but is not the run's while another run holds it: only once its claim has lapsed (a crash
    between the gateway's answer and the record) does the run take it, to ask the gateway
    again with the same key and record what it charged. `sender` (a batch of the run_billing
    job, the same for every attempt of that batch) also takes back at once the charges its own
    dead attempt left in flight. A staff member's charge in flight is theirs to complete."""
    owed_after_closing = Q(
        closed_at__isnull=False, mode=BillingMode.MONTHLY_CARD, due_at__lte=F("closed_at")
    )
    in_flight = ~Q(charge_key="")
    left = Q(charge_claimed_until__lt=as_of)
    if sender:
        left |= Q(charge_claim__startswith=f"{sender[:15]}-")
    left &= ~Q(charge_claim__startswith=STAFF_CLAIM_PREFIX)
    return BillingProfile.objects.filter(
        Q(account__status__in=(AccountStatus.ACTIVE, AccountStatus.PAUSED))
        | owed_after_closing
        | in_flight,
        Q(charge_key="") | left,
        due_at__lte=as_of,
        unpaid_since__isnull=True,
        plan__isnull=False,
    )


def profiles_due_for_suspension(*, as_of: datetime) -> QuerySet[BillingProfile]:
    """Accounts marked unpaid and not yet suspended for it, and suspended ones whose notice is
    still to be sent and not claimed by a sender right now (R11)."""
    claim_free = Q(notice_claimed_until__isnull=True) | Q(notice_claimed_until__lt=as_of)
    notice_unsent = Q(
        suspended_at__isnull=False,
        notice_sent_at__isnull=True,
        account__status=AccountStatus.SUSPENDED,
    )
    return BillingProfile.objects.filter(
        Q(suspended_at__isnull=True) | (notice_unsent & claim_free),
        unpaid_since__isnull=False,
        unpaid_since__lte=as_of,
        account__status__in=(AccountStatus.ACTIVE, AccountStatus.PAUSED, AccountStatus.SUSPENDED),
    )


def profiles_candidates_for_unpaid_cancel(*, as_of: datetime) -> QuerySet[BillingProfile]:
    """Accounts suspended for non-payment long enough that they may be past day 90 (R11): a
    coarse UTC bound (local days can be a day ahead of UTC); ``unpaid_cancel_is_due``, on the
    local calendar, decides."""
    return BillingProfile.objects.filter(
        suspended_at__isnull=False,
        suspended_at__lte=as_of - timedelta(days=conf.unpaid_cancel_after_days() - 1),
        account__status=AccountStatus.SUSPENDED,
    )


# Which way each kind of ledger entry moves the account's balance with us (its credit: positive,
# the customer has paid more than was billed or holds prepaid balance; negative, it owes). Read
# from how billing writes the ledger: money in (a card payment, a recorded payment) adds; what
# bills the account (a charge, a pause fee, a prepaid month consumed) and a forfeited balance
# take away. A prepayment purchase only turns money paid (its card payment or recorded
# payment, written beside it) into prepaid balance, and a refund gives back a charge's money
# and cancels the charge at once: neither moves the balance. So a prepaid account's running
# balance is its prepaid balance, and a monthly account's is its payments less its charges.
LEDGER_SIGNS: dict[str, int] = {
    EntryKind.CARD_PAYMENT: 1,
    EntryKind.PAYMENT: 1,
    EntryKind.CHARGE: -1,
    EntryKind.PAUSE_FEE: -1,
    EntryKind.PREPAID_CONSUMPTION: -1,
    EntryKind.FORFEITURE: -1,
    EntryKind.PREPAYMENT_PURCHASE: 0,
    EntryKind.REFUND: 0,
}


def ledger_with_balance(
    entries: QuerySet[LedgerEntry], *, account_id: int
) -> QuerySet[LedgerEntry]:
    """`entries` (of one account, filtered as the staff like) each with `balance_after`: the
    account's balance in the entry's currency after it, counted over every entry of the account
    up to it (by time, then id), whatever else filters the list.

    The database sums it with a window over the account's entries only (its index), in a
    subquery, so a filter on the list (kind, time) narrows the rows shown, not the sum."""
    signed = Case(
        *(
            When(
                kind__in=[k for k, s in LEDGER_SIGNS.items() if s == sign], then=sign * F("amount")
            )
            for sign in (1, -1)
        ),
        default=Value(Decimal("0")),
        output_field=DecimalField(max_digits=14, decimal_places=2),
    )
    running = (
        LedgerEntry.objects.filter(account_id=account_id)
        .annotate(
            balance=Window(
                Sum(signed),
                partition_by=[F("account_id"), F("currency")],
                order_by=[F("at").asc(), F("id").asc()],
            )
        )
        .values("id", "balance")
    )
    sql, params = running.query.sql_with_params()
    table = connection.ops.quote_name(LedgerEntry._meta.db_table)
    balance = RawSQL(
        f"SELECT running.balance FROM ({sql}) running WHERE running.id = {table}.id",
        params,
        output_field=DecimalField(max_digits=14, decimal_places=2),
    )
    return entries.filter(account_id=account_id).annotate(balance_after=balance)
