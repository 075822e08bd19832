"""Reads of the compliance app: which suppressions are in force (R9).

R9 has one definition here, ``in_force_sql``: a suppression event `s` is in force at a moment
`t` when it happened at or before `t` and no opt-in of the same address for the same account
came between it and `t` (an opt-in lifts the events up to and including its own instant). An
address is suppressed at `t` when one of its events is in force; the event that began the
suppression in force is the earliest of them. Every consumer uses it: the ORM selectors below
(the check, the staff's "in force" filter, recording an unsubscribe once), the hand-over
export's SQL inside PostgreSQL's COPY (plain and hashed), the import's merge and preview, and
the sending platform's bulk check (``suppressions_checked``, one query per call).

An erased address (an erasure request, SPEC "Erasure requests") keeps its suppressions with
only the SHA-256 of its key (``compliance.addresses.hashed_key``): an address matches the
events of its key in clear and of its hashed key (``match_keys``), and an opt-in recorded in
clear later lifts an erased event too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from accounts.models import Account
from compliance.addresses import (
    ERASED_FROM,
    ERASED_TO,
    SHA256_PREFIX,
    address_key,
    hashed_key,
    match_keys,
    prefix_range,
)
from compliance.models import (
    API_REPORT_ORIGIN,
    FIXED_REASON,
    RARE_REASONS,
    OptIn,
    OptInConfirmation,
    Suppression,
    SuppressionImport,
    SuppressionReason,
    SuppressionReport,
    SuppressionSource,
)
from core.previews import preview_valid_for

SUPPRESSIONS = Suppression._meta.db_table
OPTINS = OptIn._meta.db_table


def sha256_sql(expression: str) -> str:
    """The lower-case hex SHA-256 of a text expression, in this database's SQL. On PostgreSQL
    the function of migration 0009, which an index of the opt-ins is built on."""
    if connection.vendor == "postgresql":
        return f"compliance_sha256({expression})"
    return f"SHA256({expression})"  # Django registers it on SQLite


def in_force_sql(*, event: str, at: str, lifting: bool = True) -> str:
    """R9 as SQL: true when the suppression row `event` (a table name or alias) is in force at
    `at` (an SQL expression: a placeholder, or a column of another row; it appears
    ``IN_FORCE_AT_USES`` times). An erased event (its key hashed) is lifted by a later opt-in
    of the same address recorded in clear as well.

    Only an opt-in lifts a suppression: for an account with none recorded up to `at`
    (``optins_recorded_sql``), ``lifting=False`` gives the condition that is left, the event's
    own moment, and spares a whole-list read (the hand-over export) two lookups per row."""
    if not lifting:
        return f"{event}.at <= {at}"
    hashed = len(SHA256_PREFIX)
    return (
        f"{event}.at <= {at} AND NOT EXISTS ("
        f"SELECT 1 FROM {OPTINS} o WHERE o.account_id = {event}.account_id "
        f"AND o.normalised = {event}.normalised AND o.at >= {event}.at AND o.at <= {at}) "
        f"AND (CASE WHEN substr({event}.normalised, 1, {hashed}) = '{SHA256_PREFIX}' "
        f"THEN NOT EXISTS (SELECT 1 FROM {OPTINS} o WHERE o.account_id = {event}.account_id "
        f"AND o.at >= {event}.at AND o.at <= {at} "
        f"AND {sha256_sql('o.normalised')} = substr({event}.normalised, {hashed + 1})) "
        "ELSE TRUE END)"
    )


# How often `at` appears in ``in_force_sql``: callers passing it as a parameter repeat it.
IN_FORCE_AT_USES = in_force_sql(event="s", at="%s").count("%s")


def optins_recorded_sql(*, account: str, at: str) -> str:
    """True when the account (an SQL expression) has an opt-in recorded at or before `at`:
    without one, nothing lifts its suppressions (``in_force_sql(lifting=False)``)."""
    return f"EXISTS (SELECT 1 FROM {OPTINS} o WHERE o.account_id = {account} AND o.at <= {at})"


def _moment(at: datetime):
    """`at` as the database driver takes it in raw SQL."""
    return connection.ops.adapt_datetimefield_value(at)


def in_force_at(at: datetime) -> RawSQL:
    """R9 as a condition on suppression rows of the ORM (``in_force_sql``)."""
    return RawSQL(
        in_force_sql(event=SUPPRESSIONS, at="%s"),
        [_moment(at)] * IN_FORCE_AT_USES,
        output_field=BooleanField(),
    )


def suppressions_in_force(*, at: datetime, account: Account | None = None) -> QuerySet[Suppression]:
    """The suppression events in force at `at` (R9), of one account or of every account."""
    events = Suppression.objects.all() if account is None else account.suppressions.all()
    return events.filter(in_force_at(at))


def is_suppressed(account: Account, address: str, *, at: datetime) -> bool:
    """Whether `address` was suppressed for `account` at the moment `at` (R9)."""
    keys = match_keys(address_key(address))
    return suppressions_in_force(account=account, at=at).filter(normalised__in=keys).exists()


def suppression_current(account: Account, address: str, *, at: datetime) -> Suppression | None:
    """The event that began the suppression in force at `at` (the earliest event in force),
    or None when the address is not suppressed then (R9)."""
    keys = match_keys(address_key(address))
    return (
        suppressions_in_force(account=account, at=at)
        .filter(normalised__in=keys)
        .order_by("at", "id")
        .first()
    )


def suppression_repeated_by(account: Account, address: str, *, at: datetime) -> Suppression | None:
    """The suppression a new unsubscribe of `address` stamped `at` would only repeat: the one
    in force at `at`, or else the first one recorded after `at` with no opt-in between `at` and
    it. Two clicks of one link arriving together are one unsubscribe, also when the click that
    read the clock first is the second to be recorded (SPEC "one click records one entry")."""
    current = suppression_current(account, address, at=at)
    if current is not None:
        return current
    keys = match_keys(address_key(address))
    later = (
        Suppression.objects.filter(account=account, normalised__in=keys, at__gt=at)
        .order_by("at", "id")
        .first()
    )
    if later is None:
        return None
    lifted_between = OptIn.objects.filter(
        account=account, normalised__in=keys, at__gte=at, at__lte=later.at
    ).exists()
    return None if lifted_between else later


def optin_confirmation_mailed_since(
    account: Account, address: str, *, since: datetime
) -> OptInConfirmation | None:
    """The latest double opt-in confirmation of `address` mailed at or after `since` and not
    yet confirmed: while there is one, a new sign-up of the address mails it nothing more."""
    return (
        OptInConfirmation.objects.filter(
            account=account,
            normalised=address_key(address),
            mail_sent_at__gte=since,
            confirmed_at__isnull=True,
        )
        .order_by("-posted_at", "-id")
        .first()
    )


def suppression_imports_running() -> QuerySet[SuppressionImport]:
    """Unsubscribe-list imports reading their file now, for a preview or for good."""
    return SuppressionImport.objects.filter(
        status__in=(SuppressionImport.Status.PREVIEWING, SuppressionImport.Status.IMPORTING)
    )


#: Unsubscribe-list imports that wait for someone: to be read, mapped or confirmed.
SUPPRESSION_IMPORTS_WAITING = (
    SuppressionImport.Status.UPLOADED,
    SuppressionImport.Status.PREVIEWING,
    SuppressionImport.Status.MAPPING,
    SuppressionImport.Status.PREVIEWED,
)


def suppression_imports_expired_unmarked(*, as_of: datetime) -> QuerySet[SuppressionImport]:
    """Imports still waiting although their preview expired (IMPORT_PREVIEW_EXPIRY_HOURS
    after the upload): the expire_import_previews job closes them."""
    return SuppressionImport.objects.filter(
        status__in=SUPPRESSION_IMPORTS_WAITING, created_at__lte=as_of - preview_valid_for()
    )


# --- The sending platform's bulk check (api) ---------------------------------------------------


@dataclass(frozen=True)
class Checked:
    """The suppression in force of one checked address: since when and why (R9)."""

    since: datetime
    reason: SuppressionReason


def _check_sql_postgres() -> str:
    # Per key, the earliest event in force (as ``suppression_current``). The keys in clear are
    # probed on the (account, normalised) index, as one array; erased keys sort together under
    # their prefix, so the account's few erased events are one range of the same index, joined
    # with the hashed keys. The arrays travel as one text each (addresses hold no line break):
    # quoting 10,000 strings one by one costs more than the query.
    in_force = in_force_sql(event="s", at="%(at)s")
    return f"""
        SELECT DISTINCT ON (c.normalised) c.normalised, c.at, c.reason FROM (
            SELECT s.id, s.normalised, s.at, s.reason FROM {SUPPRESSIONS} s
            WHERE s.account_id = %(account)s
              AND s.normalised = ANY(string_to_array(%(keys)s, chr(10)))
              AND {in_force}
            UNION ALL
            SELECT s.id, s.normalised, s.at, s.reason FROM {SUPPRESSIONS} s
            JOIN unnest(string_to_array(%(hashed)s, chr(10))) AS h(key)
              ON s.normalised = h.key
            WHERE s.account_id = %(account)s
              AND s.normalised >= %(erased_from)s AND s.normalised < %(erased_to)s
              AND {in_force}
        ) c ORDER BY c.normalised, c.at, c.id
    """


def _check_sql_generic() -> str:
    return f"""
        SELECT s.normalised, s.at, s.reason FROM (
            SELECT s.normalised, s.at, s.reason,
                   ROW_NUMBER() OVER (PARTITION BY s.normalised ORDER BY s.at, s.id) AS rn
            FROM {SUPPRESSIONS} s
            WHERE s.account_id = %s AND s.normalised IN (SELECT value FROM json_each(%s))
              AND {in_force_sql(event="s", at="%s")}
        ) s WHERE rn = 1
    """


def suppressions_checked(*, account_id: int, keys: list[str], at: datetime) -> dict[str, Checked]:
    """Which of `keys` (normalised addresses) were suppressed for the account at `at`, since
    when and why (R9): the earliest event in force of each, also of an erased address (its
    hashed key). One set-based query, whatever the number of keys."""
    hashed = {hashed_key(key): key for key in keys}
    forms = {key: key for key in keys} | hashed
    moment = _moment(at)
    sql: str
    params: dict | list
    if connection.vendor == "postgresql":
        sql = _check_sql_postgres()
        params = {
            "account": account_id,
            "keys": "\n".join(keys),
            "hashed": "\n".join(hashed),
            "erased_from": ERASED_FROM,
            "erased_to": ERASED_TO,
            "at": moment,
        }
    else:
        sql = _check_sql_generic()
        params = [account_id, json.dumps(list(forms)), *[moment] * IN_FORCE_AT_USES]
    found: dict[str, Checked] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for normalised, since, reason in cursor.fetchall():
            if isinstance(since, str):
                since = datetime.fromisoformat(since)
            if since.tzinfo is None:
                since = since.replace(tzinfo=UTC)
            key = forms[normalised]
            earlier = found.get(key)
            # An address both in clear and erased (suppressed again after its erasure): the
            # earlier of the two began the suppression in force.
            if earlier is None or since < earlier.since:
                found[key] = Checked(since=since, reason=SuppressionReason(reason))
    return found


# --- The staff's lists (admin) -----------------------------------------------------------------
#
# The history holds hundreds of millions of events, most of them unsubscribes. A list of a
# rarer kind in id order would have PostgreSQL walk millions of unsubscribes to fill one page:
# each list below is read through an index that holds it, in that index's order.

#: One account's suppressions in the order of its key index (suppression_key_at_idx): by
#: address, then date.
ACCOUNT_KEY_ORDER = ("account_id", "normalised", "at", "id")
#: Newest first by date: the order of one reason in suppression_rare_reason_idx.
NEWEST_BY_DATE = ("-at", "-id")


def suppressions_of_reason(events: QuerySet[Suppression], *, reason: str) -> QuerySet[Suppression]:
    """The events of one reason. A rare one (``RARE_REASONS``: complaints, manual entries,
    erasures) is read through its index, suppression_rare_reason_idx, newest first by date;
    unsubscribes and hard bounces, the bulk of the history, keep the list's id order (a page
    of them is found among the newest events at once)."""
    events = events.filter(reason=reason)
    if reason in RARE_REASONS:
        return events.order_by(*NEWEST_BY_DATE)
    return events


def suppressions_of_source(events: QuerySet[Suppression], *, source: str) -> QuerySet[Suppression]:
    """The events of one source. A source with one reason (``FIXED_REASON``, which a database
    constraint holds) is that reason's list; the sending platform's events are found from its
    reports (it reports each event it records); imports, of the bulk, by id."""
    events = events.filter(source=source)
    fixed = FIXED_REASON.get(SuppressionSource(source))
    if fixed is not None:
        return suppressions_of_reason(events, reason=fixed)
    if source == SuppressionSource.API:
        return suppressions_reported_by(events, origin=API_REPORT_ORIGIN)
    return events


def suppressions_reported_by(
    events: QuerySet[Suppression], *, origin: str
) -> QuerySet[Suppression]:
    """The events among `events` a report of `origin` points at: a provider's key, or
    ``API_REPORT_ORIGIN`` for every integration of the sending platform. Found from the
    reports, on their (origin, event key) index, not by a walk of the history."""
    reports = SuppressionReport.objects.filter(origin=origin)
    if origin.endswith(":"):
        # Every origin under the prefix, as a range of the index ("api:" up to "api;").
        low, high = prefix_range(origin)
        reports = SuppressionReport.objects.filter(origin__gte=low, origin__lt=high)
    return events.filter(pk__in=reports.values("suppression_id"))


def suppressions_lifted(events: QuerySet[Suppression], *, at: datetime) -> QuerySet[Suppression]:
    """The events among `events` an opt-in had lifted at `at` (R9: not in force then), found
    from the opt-ins, a few rows beside the history: the events of each account's opted-in
    addresses, and the erased events (an opt-in in clear may lift them: the partial index of
    erased keys, suppression_erased_idx, as few rows as the erasure requests). They are read
    from the key index in its order (``ACCOUNT_KEY_ORDER``: by account, address, date), so a
    page is the first few keys, not a sort of every lifted event; R9 itself (``in_force_at``)
    says which are lifted."""
    keys = (
        f"SELECT o.account_id, o.normalised FROM {OPTINS} o UNION ALL "
        f"SELECT e.account_id, e.normalised FROM {SUPPRESSIONS} e "
        "WHERE e.normalised >= %s AND e.normalised < %s"
    )
    opted_in = RawSQL(
        f"({SUPPRESSIONS}.account_id, {SUPPRESSIONS}.normalised) IN ({keys})",
        [ERASED_FROM, ERASED_TO],
        output_field=BooleanField(),
    )
    return events.filter(opted_in).exclude(in_force_at(at)).order_by(*ACCOUNT_KEY_ORDER)
