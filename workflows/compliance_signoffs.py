"""Asking for and signing off what weakens compliance (SPEC "Compliance details"): releasing
a legal hold (R7), an opt-in entered by staff (R9), purging an account by hand (R7). Asking
checks that the action could be done now; signing off runs it through its own service or
workflow with the requester and the approver (``workflows.approvals``)."""

from __future__ import annotations

from datetime import datetime

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from accounts.models import Account
from accounts.selectors import accounts_due_for_purge, purge_day
from accounts.services import LegalHoldError, account_legal_hold_release, legal_hold_check
from approvals.models import ApprovalKind, ApprovalRequest
from approvals.services import ApprovalError, approval_request
from compliance.models import OptInMethod
from compliance.services import OptInRefused, optin_check, optin_record
from core.actors import Actor
from core.localtime import local_moment
from workflows.purge import account_purge

# --- asking ---------------------------------------------------------------------------------


def legal_hold_release_request(
    *, account: Account, reason: str, by: Actor, now: datetime
) -> ApprovalRequest:
    """Ask for the release of the account's legal hold (Compliance; R7)."""
    try:
        legal_hold_check(by=by, reason=reason or "")
    except LegalHoldError as exc:
        raise ApprovalError(str(exc)) from None
    if not account.legal_hold:
        raise ApprovalError(_("%(account)s is not under a legal hold") % {"account": account})
    return approval_request(
        kind=ApprovalKind.LEGAL_HOLD_RELEASE,
        account=account,
        subject=f"account:{account.pk}",
        payload={},
        summary=_("release the legal hold (%(hold)s) of %(account)s; it can then be purged")
        % {"hold": account.legal_hold_reason or "-", "account": account},
        reason=reason,
        by=by,
        now=now,
    )


def optin_request(
    *,
    account: Account,
    address: str,
    at: datetime,
    method: str,
    origin: str,
    evidence: str,
    reason: str,
    by: Actor,
    now: datetime,
) -> ApprovalRequest:
    """Ask for a staff-entered opt-in with its evidence to be recorded (R9): it lifts the
    address's suppression once a second person signs it off."""
    try:
        key = optin_check(
            address=address, at=at, method=method, origin=origin, evidence=evidence, now=now
        )
    except OptInRefused as exc:
        raise ApprovalError(str(exc)) from None
    return approval_request(
        kind=ApprovalKind.OPTIN,
        account=account,
        subject=f"optin:{account.pk}:{key}",
        payload={
            "address": address.strip(),
            "at": at.isoformat(),
            "method": method,
            "origin": origin.strip(),
            "evidence": evidence.strip(),
        },
        summary=_(
            "record the opt-in of %(address)s (%(method)s, %(at)s, from %(origin)s; "
            "evidence: %(evidence)s): it lifts the address's suppression (R9)"
        )
        % {
            "address": address.strip(),
            "method": OptInMethod(method).label,
            "at": local_moment(at, account.zone),
            "origin": origin.strip(),
            "evidence": evidence.strip(),
        },
        reason=reason,
        by=by,
        now=now,
    )


def purge_request(*, account: Account, reason: str, by: Actor, now: datetime) -> ApprovalRequest:
    """Ask for an account past retention to be purged now rather than by the next purge run.
    R7 holds as for the job: past retention and no legal hold, now and again at approval."""
    if not accounts_due_for_purge(as_of=now).filter(pk=account.pk).exists():
        raise ApprovalError(_not_due(account))
    return approval_request(
        kind=ApprovalKind.PURGE,
        account=account,
        subject=f"account:{account.pk}",
        payload={},
        summary=_(
            "purge the contacts and content of %(account)s now (inactive since %(since)s, "
            "purge day %(day)s); its suppressions are kept (R9)"
        )
        % {
            "account": account,
            "since": local_moment(account.inactive_since, account.zone),
            "day": purge_day(account),
        },
        reason=reason,
        by=by,
        now=now,
    )


def _not_due(account: Account) -> str:
    if account.legal_hold:
        return _("%(account)s is under a legal hold and is never purged while held (R7)") % {
            "account": account
        }
    day = purge_day(account)
    if day is None:
        return _(
            "%(account)s is %(status)s: only a cancelled or expired account is purged, after "
            "its retention (R7)"
        ) % {"account": account, "status": account.get_status_display()}
    return _(
        "%(account)s is kept until its purge day %(day)s on its calendar (%(zone)s): more than "
        "the retention days after it became inactive (R7)"
    ) % {"account": account, "day": day, "zone": account.time_zone}


# --- signing off ----------------------------------------------------------------------------


def legal_hold_release_signed_off(
    request: ApprovalRequest, *, by: Actor, requested_by: Actor, now: datetime
) -> str:
    """Release the hold the request names, signed off by `by`."""
    try:
        released = account_legal_hold_release(
            account=request.account,
            reason=f"{request.reason} (sign-off #{request.pk})",
            by=by,
            requested_by=requested_by,
            now=now,
        )
    except LegalHoldError as exc:
        raise ApprovalError(str(exc)) from None
    if not released:
        raise ApprovalError(
            _("%(account)s has no legal hold any more: reject the request")
            % {"account": request.account}
        )
    return _("legal hold released")


def optin_signed_off(
    request: ApprovalRequest, *, by: Actor, requested_by: Actor, now: datetime
) -> str:
    data = request.payload
    at = parse_datetime(data["at"])
    if at is None:
        raise ApprovalError(_("request #%(pk)s has no readable opt-in date") % {"pk": request.pk})
    try:
        optin = optin_record(
            account=request.account,
            address=data["address"],
            at=at,
            method=data["method"],
            origin=data["origin"],
            evidence=f"{data['evidence']} (sign-off #{request.pk})",
            by=by,
            requested_by=requested_by,
            now=now,
        )
    except OptInRefused as exc:
        raise ApprovalError(str(exc)) from None
    return _("opt-in of %(address)s recorded") % {"address": optin.address}


def purge_signed_off(
    request: ApprovalRequest, *, by: Actor, requested_by: Actor, now: datetime
) -> str:
    account = request.account
    purged = account_purge(
        account=account,
        by=by,
        requested_by=requested_by,
        now=now,
        run=f"purge by hand, sign-off #{request.pk}",
    )
    if not purged:
        account.refresh_from_db()
        if accounts_due_for_purge(as_of=now).filter(pk=account.pk).exists():
            raise ApprovalError(
                _("%(account)s is being purged by the purge job right now; nothing was done")
                % {"account": account}
            )
        raise ApprovalError(_not_due(account))
    return _("contacts and content purged; suppressions kept (R9)")
