"""Reads about accounts: trials due, confirmations due, and retention (R7).

R7's purge day has one definition, ``accounts_past_retention``: the purge job, the purge's
re-check under lock, the reactivation's refusal, the retention list and the dashboard all ask
it; ``purge_day`` only names, for one account, the first local day on which it answers yes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.expressions import CombinedExpression
from django.db.models.lookups import GreaterThan, LessThanOrEqual

from accounts.models import (
    INACTIVE_STATUSES,
    Account,
    AccountEvent,
    AccountStatus,
    Campaign,
    CancellationRequest,
    Contact,
    HostedFile,
    Integration,
    SignupForm,
)
from core import localtime


def retention_days() -> int:
    """Days an inactive account is kept (R7, setting RETENTION_DAYS): purged on the day after."""
    return int(settings.RETENTION_DAYS)


def trial_end_for(*, account: Account, started_at: dt.datetime) -> dt.datetime:
    """When a trial that started at `started_at` ends (R1): at local midnight after its last
    day, the first day being the local day it started on."""
    first_day = localtime.local_date(started_at, account.zone)
    return localtime.start_of_day(first_day + settings.TRIAL_LENGTH, account.zone)


def accounts_count_by_state() -> dict[str, int]:
    """How many accounts are in each state now (states with none are absent)."""
    # COUNT(*), not COUNT(id): answered from the status index alone.
    return dict(Account.objects.order_by().values_list("status").annotate(n=Count("*")))


def trials_due_to_expire(*, as_of: dt.datetime) -> QuerySet[Account]:
    """Trials whose end (local midnight, stored in UTC) has been reached (R1)."""
    return Account.objects.filter(status=AccountStatus.TRIAL, trial_ends_at__lte=as_of)


def accounts_due_to_resume(*, as_of: dt.datetime) -> QuerySet[Account]:
    """Paused accounts whose pause's end date (local midnight, stored in UTC) has come (R8)."""
    return Account.objects.filter(status=AccountStatus.PAUSED, resumes_at__lte=as_of)


def trials_ending_within(*, as_of: dt.datetime, days: int) -> QuerySet[Account]:
    return Account.objects.filter(
        status=AccountStatus.TRIAL,
        trial_ends_at__gt=as_of,
        trial_ends_at__lte=as_of + dt.timedelta(days=days),
    )


# --- Retention (R7) ------------------------------------------------------------------------


def retention_cutoff(*, today: dt.date, zone: ZoneInfo) -> dt.datetime:
    """On local day `today` in `zone`, an account inactive since before this instant is past
    its retention: inactive RETENTION_DAYS whole local days before today at the latest, so
    today is day RETENTION_DAYS + 1 or later ("more than 120 days" is day 121, SPEC "Time")."""
    return localtime.start_of_day(today - dt.timedelta(days=retention_days()), zone)


def accounts_past_retention(
    *,
    as_of: dt.datetime,
    legal_hold: bool | None = None,
    among: Collection[int] | None = None,
) -> QuerySet[Account]:
    """R7: cancelled or expired accounts in (or past) their purge day as of `as_of`, on each
    account's own calendar; with `legal_hold` True or False only those with or without a hold
    (None: both); with `among` (account ids), those accounts only: their zones are then the
    only ones read, not those of every account past the broad cut (a hundred thousand at a
    million accounts). The one definition of the purge day (module docstring)."""
    base = Account.objects.filter(status__in=INACTIVE_STATUSES, inactive_since__isnull=False)
    if among is not None:
        base = base.filter(pk__in=among)
    if legal_hold is not None:
        base = base.filter(legal_hold=legal_hold)
    # Broad cut first (local days differ from UTC days by less than one day), so the zones are
    # read from the retention index for a narrow range; then the exact cut per zone.
    base = base.filter(inactive_since__lt=as_of - dt.timedelta(days=retention_days() - 1))
    zones = _zones_of(base)
    if not zones:
        return base.none()
    return base.filter(_past_retention(zones, as_of=as_of))


def _zones_of(accounts: QuerySet[Account]) -> list[str]:
    # order_by(): the model's ordering would make DISTINCT run over (zone, username).
    return sorted(accounts.order_by().values_list("time_zone", flat=True).distinct())


def _past_retention(zones: list[str], *, as_of: dt.datetime) -> Q:
    """The exact cut of ``accounts_past_retention``, zone by zone: `zones` must include those
    of every account it is applied to."""
    due = Q()
    for name in zones:
        zone = ZoneInfo(name)
        cutoff = retention_cutoff(today=localtime.local_date(as_of, zone), zone=zone)
        due |= Q(time_zone=name, inactive_since__lt=cutoff)
    return due


def accounts_due_for_purge(
    *,
    as_of: dt.datetime,
    account_id: int | None = None,
    among: Collection[int] | None = None,
) -> QuerySet[Account]:
    """Past retention and not under a legal hold (R7): what the purge job deletes; with
    `account_id` (the forecast's run of the job) or `among`, of those accounts only. A
    reactivated account is active, so never among them; cancelled again, its clock restarts."""
    if account_id is not None:
        among = [account_id]
    return accounts_past_retention(as_of=as_of, legal_hold=False, among=among)


def due_for_purge_counts(*, moments: Sequence[dt.datetime]) -> list[int]:
    """How many accounts ``accounts_due_for_purge`` finds as of each of `moments`: the zones
    are read once, from the broad cut of the latest moment (which holds every earlier
    moment's accounts), then each moment is counted within its own broad cut (one count over
    the latest moment's range with a filter per moment reads more rows than both). The
    dashboard's "purged within 7 / 30 days"."""
    if not moments:
        return []
    broad = retention_days() - 1
    due = Account.objects.filter(
        status__in=INACTIVE_STATUSES, inactive_since__isnull=False, legal_hold=False
    )
    zones = _zones_of(due.filter(inactive_since__lt=max(moments) - dt.timedelta(days=broad)))
    if not zones:
        return [0] * len(moments)
    return [
        due.filter(
            _past_retention(zones, as_of=moment),
            inactive_since__lt=moment - dt.timedelta(days=broad),
        ).count()
        for moment in moments
    ]


def account_is_past_retention(*, account: Account, as_of: dt.datetime) -> bool:
    """Whether `account` is past its retention window as of `as_of` (R7): it can no longer be
    reactivated, and is purged unless held."""
    return accounts_past_retention(as_of=as_of, among=[account.pk]).exists()


def status_since(account: Account) -> dt.datetime:
    """When the account entered its present state: the timeline's last move into it (the
    account's creation when it never moved)."""
    moved = (
        AccountEvent.objects.filter(account_id=account.pk, to_status=account.status)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    return moved or account.created_at


def purge_day(account: Account) -> dt.date | None:
    """The first local day on which ``accounts_past_retention`` includes `account`: day
    RETENTION_DAYS + 1 of its inactivity (R7); None while it is not inactive."""
    if account.inactive_since is None or account.status not in INACTIVE_STATUSES:
        return None
    start = localtime.local_date(account.inactive_since, account.zone)
    return start + dt.timedelta(days=retention_days() + 1)


# --- Confirmations (R4) --------------------------------------------------------------------


def confirmations_due(*, as_of: dt.datetime, sender: str = "") -> QuerySet[CancellationRequest]:
    """Requests not yet confirmed and not claimed by a sender right now (R4); with `sender`,
    also those that sender's own dead attempt left claimed (services.confirmation_claim)."""
    free = Q(confirmation_claimed_until__isnull=True) | Q(confirmation_claimed_until__lt=as_of)
    if sender:
        free |= Q(confirmation_claim__startswith=f"{sender[:15]}-")
    return CancellationRequest.objects.filter(
        confirmation_sent_at__isnull=True, at__lte=as_of
    ).filter(free)


def confirmations_overdue(*, as_of: dt.datetime) -> QuerySet[CancellationRequest]:
    """Requests still unconfirmed after the SLA (24 hours, R4): breaches staff must act on."""
    return CancellationRequest.objects.filter(
        confirmation_sent_at__isnull=True, at__lte=as_of - settings.CONFIRMATION_SLA
    )


def confirmations_pending(*, as_of: dt.datetime) -> QuerySet[CancellationRequest]:
    """Requests not yet confirmed and still within the 24 hours (R4)."""
    return CancellationRequest.objects.filter(
        confirmation_sent_at__isnull=True, at__gt=as_of - settings.CONFIRMATION_SLA
    )


def confirmation_delay() -> CombinedExpression:
    """How long after the request its confirmation went out (R4): the difference of the two
    times, not the request's time plus the SLA, because a sum with an interval cannot be
    indexed (PostgreSQL counts it as time-zone dependent) and the difference can: the rare
    late ones are then read from their own small index (cancelreq_late_idx)."""
    return F("confirmation_sent_at") - F("at")


def confirmation_sent(*, on_time: bool) -> Q:
    """Requests whose confirmation went out within the 24 hours (R4), or after them: a
    condition, so the dashboard counts with it and the lists filter with it alike."""
    if on_time:
        return Q(LessThanOrEqual(confirmation_delay(), settings.CONFIRMATION_SLA))
    return Q(GreaterThan(confirmation_delay(), settings.CONFIRMATION_SLA))


def confirmation_is_overdue(*, request: CancellationRequest, as_of: dt.datetime) -> bool:
    return request.confirmation_sent_at is None and (
        request.at <= as_of - settings.CONFIRMATION_SLA
    )


def hosted_file_for_public(*, public_key: str) -> HostedFile | None:
    """The hosted file behind a public URL, or None if there never was one."""
    return (
        HostedFile.objects.select_related("account")
        .only("content", "content_type", "name", "online", "account__status")
        .filter(public_key=public_key)
        .first()
    )


# --- What an account holds ------------------------------------------------------------------

# The account page counts contacts and campaigns up to this many: past it, "more than 10,000"
# is all the page needs, and the count costs the same for ten million contacts as for ten
# thousand. The purge preview (workflows.purge.purge_preview) counts them exactly.
CONTENT_COUNTED_UP_TO = 10_000


def _count_up_to(rows: QuerySet, *, cap: int) -> int:
    """How many of `rows` (an account's) there are, counted no further than cap + 1: read from
    the account key's index alone, not the rows."""
    return rows.order_by().values("account_id")[: cap + 1].count()


def account_content(*, account: Account, cap: int = CONTENT_COUNTED_UP_TO) -> dict[str, int]:
    """What the account holds, for its page: contacts and campaigns counted up to `cap` (a
    figure above it means "more than `cap`"), sign-up forms with the sign-ups they discarded
    after closing (R6), integrations and how many are connected, hosted files and how many are
    online; five short queries, whatever the account's size."""
    forms = SignupForm.objects.filter(account=account).aggregate(
        forms=Count("id"), discarded=Sum("discarded_signups")
    )
    integrations = Integration.objects.filter(account=account).aggregate(
        integrations=Count("id"), connected=Count("id", filter=Q(connected=True))
    )
    files = HostedFile.objects.filter(account=account).aggregate(
        files=Count("id"), online=Count("id", filter=Q(online=True))
    )
    return {
        "contacts": _count_up_to(Contact.objects.filter(account=account), cap=cap),
        "campaigns": _count_up_to(Campaign.objects.filter(account=account), cap=cap),
        "forms": forms["forms"],
        "discarded": forms["discarded"] or 0,
        **integrations,
        **files,
    }
