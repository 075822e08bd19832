"""Reads of the compliance app: which suppressions are in force (R9).

R9 has one definition here, ``in_force_sql``: a suppression event `s` is in force at a moment
`t` when it happened at or before `t` and no opt-in of the same address for the same account
came between it and `t` (an opt-in lifts the events up to and including its own instant). An
address is suppressed at `t` when one of its events is in force; the event that began the
suppression in force is the earliest of them. Every consumer uses it: the ORM selectors below
(the check, the staff's "in force" filter, recording an unsubscribe once), the hand-over
export's SQL inside PostgreSQL's COPY (plain and hashed), and the import's merge and preview.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from accounts.models import Account
from compliance.addresses import address_key
from compliance.models import OptIn, OptInConfirmation, Suppression, SuppressionImport

SUPPRESSIONS = Suppression._meta.db_table
OPTINS = OptIn._meta.db_table


def in_force_sql(*, event: str, at: str) -> str:
    """R9 as SQL: true when the suppression row `event` (a table name or alias) is in force at
    `at` (an SQL expression: a placeholder, or a column of another row)."""
    return (
        f"{event}.at <= {at} AND NOT EXISTS ("
        f"SELECT 1 FROM {OPTINS} o WHERE o.account_id = {event}.account_id "
        f"AND o.normalised = {event}.normalised AND o.at >= {event}.at AND o.at <= {at})"
    )


def _moment(at: datetime):
    """`at` as the database driver takes it in raw SQL."""
    return connection.ops.adapt_datetimefield_value(at)


def in_force_at(at: datetime) -> RawSQL:
    """R9 as a condition on suppression rows of the ORM (``in_force_sql``)."""
    return RawSQL(
        in_force_sql(event=SUPPRESSIONS, at="%s"),
        [_moment(at), _moment(at)],
        output_field=BooleanField(),
    )


def suppressions_in_force(*, at: datetime, account: Account | None = None) -> QuerySet[Suppression]:
    """The suppression events in force at `at` (R9), of one account or of every account."""
    events = Suppression.objects.all() if account is None else account.suppressions.all()
    return events.filter(in_force_at(at))


def is_suppressed(account: Account, address: str, *, at: datetime) -> bool:
    """Whether `address` was suppressed for `account` at the moment `at` (R9)."""
    key = address_key(address)
    return suppressions_in_force(account=account, at=at).filter(normalised=key).exists()


def suppression_current(account: Account, address: str, *, at: datetime) -> Suppression | None:
    """The event that began the suppression in force at `at` (the earliest event in force),
    or None when the address is not suppressed then (R9)."""
    key = address_key(address)
    return (
        suppressions_in_force(account=account, at=at)
        .filter(normalised=key)
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
    key = address_key(address)
    later = (
        Suppression.objects.filter(account=account, normalised=key, at__gt=at)
        .order_by("at", "id")
        .first()
    )
    if later is None:
        return None
    lifted_between = OptIn.objects.filter(
        account=account, normalised=key, at__gte=at, at__lte=later.at
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
