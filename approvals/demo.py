"""Demo sign-offs, made by the same flows the admin uses: a refund asked for by one billing
clerk and signed off by another (refunded), an opt-in whose evidence a compliance officer
rejected, a purge by hand signed off (its receipt names the sign-off), one request left
unanswered until it expired, and two waiting: the release of the demo's legal hold (the
`compliance` login may sign it off) and a refund (the `billing` login may)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.contrib.auth.models import Group, User
from django.utils.translation import gettext as _

from accounts.models import Account, AccountStatus
from accounts.selectors import accounts_due_for_purge
from approvals.models import ApprovalRequest
from approvals.services import approval_reject, approvals_expire
from billing.models import EntryKind, LedgerEntry
from compliance.models import OptInMethod, Suppression
from core.actors import Actor
from workflows.approvals import approval_approve
from workflows.billing_signoffs import refund_request
from workflows.compliance_signoffs import (
    legal_hold_release_request,
    optin_request,
    purge_request,
)

# Staff who asked and signed off in the demo's history (no password: they cannot log in).
STAFF = {
    "officer.nina": "Compliance",
    "officer.jonas": "Compliance",
    "clerk.tom": "Billing",
    "clerk.ute": "Billing",
}


def _staff() -> dict[str, Actor]:
    actors = {}
    for username, role in STAFF.items():
        user, created = User.objects.get_or_create(
            username=username, defaults={"is_staff": True, "first_name": username.split(".")[1]}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            user.groups.add(Group.objects.get(name=role))
        actors[username] = Actor.staff(user)
    return actors


def _refundable(exclude: set[int]) -> LedgerEntry | None:
    return (
        LedgerEntry.objects.select_related("account")
        .filter(kind=EntryKind.CHARGE, account__status=AccountStatus.ACTIVE)
        .exclude(pk__in=exclude)
        .exclude(reference="")
        .order_by("-at")
        .first()
    )


def seed(*, rng: random.Random, now: datetime, count: int) -> str:
    staff = _staff()
    nina, jonas = staff["officer.nina"], staff["officer.jonas"]
    tom, ute = staff["clerk.tom"], staff["clerk.ute"]
    made = []

    # A refund asked for three days ago and signed off the next day.
    charge = _refundable(set())
    if charge is not None:
        asked = refund_request(
            entry=charge,
            reason="Charged after the customer's written cancellation notice, ticket 5120",
            by=tom,
            now=now - timedelta(days=3),
        )
        approval_approve(
            request=asked, by=ute, now=now - timedelta(days=2), note="Checked ticket 5120"
        )
        made.append(_("a refund signed off"))

    # An opt-in asked for on a phone note: rejected, the address stays suppressed (R9).
    suppression = (
        Suppression.objects.select_related("account")
        .filter(account__status=AccountStatus.ACTIVE)
        .order_by("pk")
        .first()
    )
    if suppression is not None:
        asked = optin_request(
            account=suppression.account,
            address=suppression.address,
            at=now - timedelta(days=6),
            method=OptInMethod.WRITTEN_CONSENT,
            origin="phone call to support",
            evidence="agent's note: the customer says the reader wants the newsletter again",
            reason="Customer asked on the phone, ticket 5188",
            by=jonas,
            now=now - timedelta(days=5),
        )
        approval_reject(
            request=asked,
            by=nina,
            now=now - timedelta(days=4),
            note="A note of a call is not the reader's consent: ask for the signed form",
        )
        made.append(_("an opt-in rejected"))

    # A purge by hand of an account past retention, signed off (R7 held at both steps).
    due = accounts_due_for_purge(as_of=now).order_by("inactive_since").first()
    if due is not None:
        asked = purge_request(
            account=due,
            reason="Customer asked for deletion of the contacts, ticket 5201",
            by=nina,
            now=now - timedelta(hours=6),
        )
        approval_approve(request=asked, by=jonas, now=now - timedelta(hours=5))
        made.append(_("a purge by hand of %(username)s") % {"username": due.username})

    # Left unanswered for longer than the expiry: recorded as expired by the job.
    second = _refundable({charge.pk} if charge else set())
    if second is not None:
        refund_request(
            entry=second,
            reason="Double charge reported by the customer, ticket 4977",
            by=ute,
            now=now - timedelta(days=12),
        )
        approvals_expire(requests=ApprovalRequest.objects.all(), now=now - timedelta(days=4))
        made.append(_("one expired unanswered"))

    # Waiting for a second person: the legal hold's release, and a refund.
    held = Account.objects.filter(legal_hold=True).order_by("pk").first()
    if held is not None:
        legal_hold_release_request(
            account=held,
            reason="Matter 2026-CV-0412 settled; counsel's letter of release on file",
            by=nina,
            now=now - timedelta(hours=20),
        )
        made.append(
            _("the release of %(username)s's legal hold waiting") % {"username": held.username}
        )
    third = _refundable({e.pk for e in (charge, second) if e is not None})
    if third is not None:
        refund_request(
            entry=third,
            reason="Campaign sent twice by our fault, goodwill refund agreed by the team lead",
            by=tom,
            now=now - timedelta(hours=2),
        )
        made.append(_("a refund waiting"))
    if not made:
        return _("no sign-offs")
    return _("sign-offs: %(made)s") % {"made": ", ".join(made)}
