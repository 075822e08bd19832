"""Recording suppressions and the opt-ins that lift them (R9, R12)."""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction
from django.utils.translation import gettext as _

from accounts.models import Account
from compliance.addresses import InvalidAddress, address_key
from compliance.models import (
    FIXED_REASON,
    SOURCE_REASON,
    OptIn,
    OptInMethod,
    Suppression,
    SuppressionReason,
    SuppressionSource,
)
from compliance.selectors import suppression_repeated_by
from core.actors import Actor
from core.signoff import SignOffRequired, second_person_check

ADD_OPTIN = "compliance.add_optin"


def lock_address(account: Account, key: str) -> None:
    """Serialise the writers of one address of one account until the transaction ends, so two
    unsubscribes arriving together (a link clicked twice, a complaint and an import) are one
    history event, not two. SQLite already runs one writing transaction at a time."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                [f"suppression:{account.pk}:{key}"],
            )


class OptInRefused(ValueError):
    """An opt-in that cannot lift a suppression as given; the message says what is missing."""


def suppression_record(
    *,
    account: Account,
    address: str,
    source: str,
    at: datetime,
    by: Actor,
    evidence: str = "",
    reason: str | None = None,
) -> Suppression:
    """Record that `address` may no longer be mailed by `account` (R9), and why: `reason` (a
    SuppressionReason; by default the one the source implies: a link is an unsubscribe, a
    bounce a hard bounce, staff a manual entry) with `evidence`, the provider's or person's
    own words. Recorded whatever the account's state, also after it closed or was purged, and
    whatever the address looks like once it is ours to keep (``address_key``: a signed link's
    address is always recorded).

    When the history already says so, nothing is added and the event that says it is returned
    (unsubscribing twice is one unsubscribe): the address is suppressed at `at`, or a request
    that read the clock later was recorded first (``suppression_repeated_by``). The look-up
    runs under the address's lock, so however often a link arrives at once, one row results."""
    if source not in SuppressionSource.values:
        raise ValueError(f"unknown suppression source {source!r}")
    if reason is None:
        reason = SOURCE_REASON[SuppressionSource(source)]
    if reason not in SuppressionReason.values:
        raise ValueError(
            f"unknown suppression reason {reason!r}; one of: {', '.join(SuppressionReason.values)}"
        )
    fixed = FIXED_REASON.get(SuppressionSource(source))
    if fixed is not None and reason != fixed:
        raise ValueError(
            f"a suppression of source {source!r} has reason {fixed.value!r}, not {reason!r}"
        )
    key = address_key(address)
    with transaction.atomic():
        lock_address(account, key)
        repeated = suppression_repeated_by(account, key, at=at)
        if repeated is not None:
            return repeated
        return Suppression.objects.create(
            account=account,
            received=address.strip(),  # kept only where it is not its key (save())
            normalised=key,
            source=source,
            reason=reason,
            at=at,
            evidence=evidence,
            **by.as_fields(),
        )


def optin_record(
    *,
    account: Account,
    address: str,
    at: datetime,
    method: str,
    origin: str,
    evidence: str,
    by: Actor,
    now: datetime,
    requested_by: Actor | None = None,
) -> OptIn:
    """Record a new, explicit opt-in of `address` with its evidence: when (`at`), how
    (`method`), from where (`origin`), recorded by whom (`by`). It lifts the suppressions up
    to `at`; it never deletes one (R9). Without evidence, nobody can lift a suppression. A
    staff member records one only by signing off what another asked for (`requested_by`,
    four eyes); the double opt-in's click is recorded by its job."""
    try:
        second_person_check(
            by=by,
            requested_by=requested_by,
            permission=ADD_OPTIN,
            what=_("an opt-in entered by staff"),
        )
    except SignOffRequired as exc:
        raise OptInRefused(str(exc)) from None
    optin_check(address=address, at=at, method=method, origin=origin, evidence=evidence, now=now)
    return OptIn.objects.create(
        account=account,
        address=address.strip(),
        normalised=address_key(address),
        at=at,
        method=method,
        origin=origin.strip(),
        evidence=evidence.strip(),
        recorded_at=now,
        **by.as_fields(),
    )


def optin_check(
    *, address: str, at: datetime, method: str, origin: str, evidence: str, now: datetime
) -> str:
    """Refuse an opt-in that cannot lift a suppression as given (an unknown method, evidence
    missing, a date in the future, an address that is none); returns its normalised address."""
    try:
        key = address_key(address)
    except InvalidAddress as exc:
        raise OptInRefused(str(exc)) from None
    if method not in OptInMethod.values:
        raise OptInRefused(
            _("unknown opt-in method %(method)s; one of: %(values)s")
            % {"method": repr(method), "values": ", ".join(OptInMethod.values)}
        )
    missing = [
        name
        for name, value in ((_("from where"), origin), (_("evidence"), evidence))
        if not value.strip()
    ]
    if missing:
        raise OptInRefused(
            _(
                "an opt-in needs its evidence: %(missing)s missing; a "
                "suppression is lifted only by an explicit opt-in with "
                "evidence (R9)"
            )
            % {"missing": (" " + _("and") + " ").join(missing)}
        )
    if at > now:
        raise OptInRefused(
            _("the opt-in date %(at)s is in the future") % {"at": format(at, "%Y-%m-%d %H:%M")}
        )
    return key
