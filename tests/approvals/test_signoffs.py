"""Second-person sign-off ("four eyes", SPEC "Compliance details"): releasing a legal hold, a
staff-entered opt-in, a refund and a purge by hand are asked for by one staff member with a
reason and done only when another, holding the same permission, approves. The requester never
approves their own request, superusers included; requests expire; everything is on the
account's timeline; approving runs the action through its own service in one transaction."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, AccountEvent, AccountStatus, Contact
from accounts.services import LegalHoldError, account_legal_hold_release, account_legal_hold_set
from approvals.models import ApprovalDecision, ApprovalOutcome, ApprovalRequest, ApprovalState
from approvals.selectors import approval_state, approvals_with_state
from approvals.services import ApprovalError, approval_reject
from billing.models import BillingProfile, EntryKind, LedgerEntry
from billing.services import BillingError, charge_refund
from compliance.models import OptIn, PurgeReceipt
from compliance.selectors import is_suppressed
from compliance.services import OptInRefused, optin_record, suppression_record
from core.actors import Actor
from core.signoff import SignOffRequired
from tests.billing.factories import BillingProfileFactory
from tests.compliance.factories import ContactFactory
from tests.factories import AccountFactory
from tests.jobrun import job
from workflows.approvals import approval_approve
from workflows.billing_signoffs import refund_request
from workflows.compliance_signoffs import (
    legal_hold_release_request,
    optin_request,
    purge_request,
)
from workflows.purge import account_purge

pytestmark = pytest.mark.django_db

S = AccountStatus
LINK = Actor.system("unsubscribe_link")


@pytest.fixture
def officers(make_role_user) -> tuple[Actor, Actor]:
    return (
        Actor.staff(make_role_user("Compliance", "officer.asks")),
        Actor.staff(make_role_user("Compliance", "officer.signs")),
    )


@pytest.fixture
def clerks(make_role_user) -> tuple[Actor, Actor]:
    return (
        Actor.staff(make_role_user("Billing", "clerk.asks")),
        Actor.staff(make_role_user("Billing", "clerk.signs")),
    )


def _held(**extra) -> Account:
    return AccountFactory(
        status=S.CANCELLED,
        inactive_since=timezone.now() - timedelta(days=200),
        legal_hold=True,
        legal_hold_reason="Subpoena 2026-114",
        **extra,
    )


def _due_with_contacts() -> Account:
    account = AccountFactory(
        status=S.CANCELLED, inactive_since=timezone.now() - timedelta(days=130)
    )
    for _ in range(3):
        ContactFactory(account=account)
    return account


def _charge(account: Account, *, at=None) -> LedgerEntry:
    if not BillingProfile.objects.filter(account=account).exists():
        BillingProfileFactory(account=account)
    return LedgerEntry.objects.create(
        account=account,
        at=at or timezone.now() - timedelta(days=3),
        kind=EntryKind.CHARGE,
        amount=Decimal("45.00"),
        currency="USD",
        period=(timezone.now() - timedelta(days=3)).date(),
        reference="ch_test_signoff",
        description="Growth, month",
        by_job="run_billing",
    )


def kinds(account: Account) -> list[str]:
    return list(
        AccountEvent.objects.filter(account=account)
        .order_by("at", "id")
        .values_list("kind", flat=True)
    )


# --- the guarded services refuse one person acting alone -----------------------------------


def test_one_compliance_officer_alone_can_no_longer_release_a_legal_hold_R7(officers):
    """The review's finding: one person's release (there, a manager's import) let the next
    purge delete the account's contacts. A release now needs a second person's sign-off."""
    asks, _signs = officers
    account = _held()

    with pytest.raises(LegalHoldError, match="second person's sign-off"):
        account_legal_hold_release(
            account=account, reason="case closed", by=asks, now=timezone.now()
        )

    account.refresh_from_db()
    assert account.legal_hold
    assert not AccountEvent.objects.filter(account=account).exists()


def test_the_guarded_services_refuse_staff_acting_alone_or_signing_off_their_own_request(
    officers, clerks, now
):
    asks, _ = officers
    clerk, _ = clerks
    account = AccountFactory()
    suppression_record(account=account, address="a@example.com", source="staff", at=now, by=LINK)
    entry = _charge(account, at=now - timedelta(days=1))

    with pytest.raises(OptInRefused, match="second person's sign-off"):
        optin_record(
            account=account,
            address="a@example.com",
            at=now,
            method="written_consent",
            origin="letter",
            evidence="scan 1",
            by=asks,
            now=now,
        )
    with pytest.raises(OptInRefused, match="cannot sign off their own request"):
        optin_record(
            account=account,
            address="a@example.com",
            at=now,
            method="written_consent",
            origin="letter",
            evidence="scan 1",
            by=asks,
            requested_by=asks,
            now=now,
        )
    with pytest.raises(BillingError, match="second person's sign-off"):
        charge_refund(entry=entry, by=clerk, now=now, reason="asked")
    with pytest.raises(SignOffRequired, match="second person's sign-off"):
        account_purge(account=_due_with_contacts(), by=asks, now=timezone.now(), run="hand")

    assert not OptIn.objects.exists()
    assert not LedgerEntry.objects.filter(kind=EntryKind.REFUND).exists()
    assert Contact.objects.count() == 3


# --- asking, approving, rejecting ------------------------------------------------------------


def test_a_legal_hold_release_waits_for_a_second_officer_then_releases_on_the_timeline_R7(
    officers,
):
    asks, signs = officers
    account = _held()
    now = timezone.now()

    request = legal_hold_release_request(
        account=account, reason="Matter settled, letter 12", by=asks, now=now
    )

    account.refresh_from_db()
    assert account.legal_hold
    assert kinds(account) == ["approval_requested"]
    assert approval_state(request=request, as_of=now) == ApprovalState.PENDING

    approval_approve(request=request, by=signs, now=now + timedelta(hours=1), note="letter seen")

    account.refresh_from_db()
    assert not account.legal_hold
    assert kinds(account) == ["approval_requested", "legal_hold_released", "approval_approved"]
    released = AccountEvent.objects.get(account=account, kind="legal_hold_released")
    assert released.by_user == signs.user and f"sign-off #{request.pk}" in released.reason
    decision = ApprovalDecision.objects.get(request=request)
    assert (decision.outcome, decision.by_user) == (ApprovalOutcome.APPROVED, signs.user)
    approved = AccountEvent.objects.get(account=account, kind="approval_approved")
    assert "officer.asks" in approved.reason and "legal hold released" in approved.reason


def test_the_requester_never_approves_their_own_request_not_even_a_superuser(
    django_user_model, officers
):
    root = Actor.staff(django_user_model.objects.create_superuser("root.self", password="x"))
    account = _held()
    request = legal_hold_release_request(
        account=account, reason="done", by=root, now=timezone.now()
    )

    with pytest.raises(ApprovalError, match="yourself"):
        approval_approve(request=request, by=root, now=timezone.now())

    account.refresh_from_db()
    assert account.legal_hold
    assert not ApprovalDecision.objects.exists()
    # another person with the permission may
    approval_approve(request=request, by=officers[1], now=timezone.now())
    account.refresh_from_db()
    assert not account.legal_hold


def test_the_admin_refuses_a_superuser_approving_their_own_request(client, django_user_model):
    root = django_user_model.objects.create_superuser("root.admin", password="x")
    account = _held()
    request = legal_hold_release_request(
        account=account, reason="done", by=Actor.staff(root), now=timezone.now()
    )
    client.force_login(root)

    response = client.post(
        reverse("admin:approvals_approvalrequest_changelist"),
        {"action": "approve_requests", ACTION_CHECKBOX_NAME: [request.pk], "apply": "1"},
        follow=True,
    )

    assert "another member of staff must sign it off" in response.content.decode()
    account.refresh_from_db()
    assert account.legal_hold and not ApprovalDecision.objects.exists()


def test_only_a_role_holding_the_permission_signs_off_a_kind(officers, clerks):
    asks, signs = officers
    account = _held()
    request = legal_hold_release_request(
        account=account, reason="done", by=asks, now=timezone.now()
    )

    with pytest.raises(ApprovalError, match="may not sign off"):
        approval_approve(request=request, by=clerks[1], now=timezone.now())
    with pytest.raises(ApprovalError, match="may not refund"):
        refund_request(entry=_charge(account), reason="x", by=asks, now=timezone.now())

    account.refresh_from_db()
    assert account.legal_hold


def test_a_rejection_needs_a_reason_and_does_nothing_and_a_request_is_decided_once(officers):
    asks, signs = officers
    account = _held()
    request = legal_hold_release_request(
        account=account, reason="done", by=asks, now=timezone.now()
    )

    with pytest.raises(ApprovalError, match="why"):
        approval_reject(request=request, by=signs, now=timezone.now(), note=" ")
    approval_reject(request=request, by=signs, now=timezone.now(), note="the matter is open")
    with pytest.raises(ApprovalError, match="decided already"):
        approval_approve(request=request, by=signs, now=timezone.now())

    account.refresh_from_db()
    assert account.legal_hold
    assert kinds(account) == ["approval_requested", "approval_rejected"]
    rejected = AccountEvent.objects.get(account=account, kind="approval_rejected")
    assert "the matter is open" in rejected.reason


def test_one_pending_request_per_subject_and_a_reason_is_required(officers):
    asks, signs = officers
    account = _held()
    legal_hold_release_request(account=account, reason="done", by=asks, now=timezone.now())

    with pytest.raises(ApprovalError, match="already asked for"):
        legal_hold_release_request(account=account, reason="again", by=signs, now=timezone.now())
    with pytest.raises(ApprovalError, match="why"):
        purge_request(account=_due_with_contacts(), reason="", by=asks, now=timezone.now())
    assert ApprovalRequest.objects.count() == 1


def test_an_expired_request_cannot_be_approved_and_the_job_records_it_expired(officers, settings):
    settings.APPROVAL_EXPIRY_DAYS = 7
    asks, signs = officers
    account = _held()
    asked_at = timezone.now() - timedelta(days=10)
    request = legal_hold_release_request(account=account, reason="done", by=asks, now=asked_at)
    late = asked_at + timedelta(days=7)

    with pytest.raises(ApprovalError, match="expired"):
        approval_approve(request=request, by=signs, now=late)
    listed = approvals_with_state(as_of=late).get(pk=request.pk)
    assert listed.state == ApprovalState.EXPIRED

    counts = job("expire_signoffs")(as_of=late)

    assert counts["expired"] == 1
    decision = ApprovalDecision.objects.get(request=request)
    assert (decision.outcome, decision.by_job) == (ApprovalOutcome.EXPIRED, "expire_signoffs")
    assert kinds(account) == ["approval_requested", "approval_expired"]
    assert job("expire_signoffs")(as_of=late)["expired"] == 0
    account.refresh_from_db()
    assert account.legal_hold


# --- each kind --------------------------------------------------------------------------------


def test_a_refund_is_made_only_on_a_second_clerks_sign_off_and_never_of_a_prepayment_R5(
    clerks,
):
    asks, signs = clerks
    account = AccountFactory()
    charge = _charge(account)
    prepayment = LedgerEntry.objects.create(
        account=account,
        at=timezone.now() - timedelta(days=3),
        kind=EntryKind.PREPAYMENT_PURCHASE,
        amount=Decimal("540.00"),
        currency="USD",
        prepaid_balance_after=Decimal("540.00"),
        by_job="run_billing",
    )

    with pytest.raises(ApprovalError, match=r"Prepayments are not refundable \(R5\)"):
        refund_request(entry=prepayment, reason="asked", by=asks, now=timezone.now())
    request = refund_request(entry=charge, reason="billed twice", by=asks, now=timezone.now())
    assert not LedgerEntry.objects.filter(kind=EntryKind.REFUND).exists()

    approval_approve(request=request, by=signs, now=timezone.now())

    refund = LedgerEntry.objects.get(kind=EntryKind.REFUND)
    assert (refund.refund_of, refund.amount, refund.by_user) == (charge, charge.amount, signs.user)
    assert f"sign-off #{request.pk}" in refund.description
    decision = ApprovalDecision.objects.get(request=request)
    assert decision.result == "refunded 45.00 USD"


def test_an_approval_whose_action_is_refused_writes_nothing_and_stays_pending(clerks):
    asks, signs = clerks
    charge = _charge(AccountFactory())
    request = refund_request(entry=charge, reason="billed twice", by=asks, now=timezone.now())
    # refunded meanwhile by another sign-off path: the second refund is refused
    LedgerEntry.objects.create(
        account=charge.account,
        at=timezone.now(),
        kind=EntryKind.REFUND,
        amount=charge.amount,
        currency="USD",
        refund_of=charge,
        by_job="test",
    )
    events_before = AccountEvent.objects.count()

    with pytest.raises(ApprovalError, match="already refunded"):
        approval_approve(request=request, by=signs, now=timezone.now())

    assert not ApprovalDecision.objects.exists()
    assert AccountEvent.objects.count() == events_before
    assert approval_state(request=request, as_of=timezone.now()) == ApprovalState.PENDING


def test_a_staff_opt_in_lifts_the_suppression_only_after_the_sign_off_R9(officers):
    asks, signs = officers
    account = AccountFactory()
    at = timezone.now() - timedelta(days=2)
    suppression_record(
        account=account, address="Back@Example.com", source="unsubscribe_link", at=at, by=LINK
    )
    request = optin_request(
        account=account,
        address="Back@Example.com",
        at=timezone.now() - timedelta(days=1),
        method="written_consent",
        origin="letter",
        evidence="scan 4411",
        reason="ticket 9",
        by=asks,
        now=timezone.now(),
    )
    assert is_suppressed(account, "back@example.com", at=timezone.now())

    approval_approve(request=request, by=signs, now=timezone.now())

    assert not is_suppressed(account, "back@example.com", at=timezone.now())
    optin = OptIn.objects.get()
    assert optin.by_user == signs.user and f"sign-off #{request.pk}" in optin.evidence


def test_an_opt_in_without_evidence_is_refused_when_asked_for_R9(officers):
    with pytest.raises(ApprovalError, match="evidence"):
        optin_request(
            account=AccountFactory(),
            address="x@example.com",
            at=timezone.now(),
            method="written_consent",
            origin="",
            evidence="",
            reason="ticket",
            by=officers[0],
            now=timezone.now(),
        )
    assert not ApprovalRequest.objects.exists()


def test_a_purge_by_hand_needs_retention_past_and_no_legal_hold_at_both_steps_R7(officers):
    asks, signs = officers
    now = timezone.now()
    young = AccountFactory(status=S.CANCELLED, inactive_since=now - timedelta(days=30))
    with pytest.raises(ApprovalError, match="purge day"):
        purge_request(account=young, reason="customer asked", by=asks, now=now)
    with pytest.raises(ApprovalError, match="legal hold"):
        purge_request(account=_held(), reason="customer asked", by=asks, now=now)
    with pytest.raises(ApprovalError, match="only a cancelled or expired"):
        purge_request(account=AccountFactory(), reason="customer asked", by=asks, now=now)

    # a hold set between the request and the sign-off stops the purge
    due = _due_with_contacts()
    request = purge_request(account=due, reason="customer asked", by=asks, now=now)
    account_legal_hold_set(account=due, reason="Subpoena 9", by=signs, now=now)
    with pytest.raises(ApprovalError, match="legal hold"):
        approval_approve(request=request, by=signs, now=now)
    assert Contact.objects.filter(account=due).count() == 3
    assert not ApprovalDecision.objects.exists()


def test_a_purge_by_hand_signed_off_purges_and_keeps_the_suppressions_R7_R9(officers):
    asks, signs = officers
    now = timezone.now()
    due = _due_with_contacts()
    suppression_record(account=due, address="gone@example.com", source="staff", at=now, by=LINK)
    request = purge_request(account=due, reason="customer asked, ticket 5", by=asks, now=now)

    approval_approve(request=request, by=signs, now=now)

    due.refresh_from_db()
    assert due.status == S.PURGED
    assert not Contact.objects.filter(account=due).exists()
    receipt = PurgeReceipt.objects.get(account=due)
    assert receipt.run == f"purge by hand, sign-off #{request.pk}"
    assert receipt.by_user == signs.user
    assert is_suppressed(due, "gone@example.com", at=now)
    assert kinds(due)[-2:] == ["purge", "approval_approved"]


# --- the records --------------------------------------------------------------------------


def test_the_listing_shows_each_role_the_kinds_it_decides_and_its_own(
    officers, clerks, make_role_user
):
    account = _held()
    legal_hold_release_request(account=account, reason="done", by=officers[0], now=timezone.now())
    refund_request(entry=_charge(account), reason="twice", by=clerks[0], now=timezone.now())
    url = reverse("admin:approvals_approvalrequest_changelist")

    seen = {}
    for name, user in (("compliance", officers[1].user), ("billing", clerks[1].user)):
        client = Client()
        client.force_login(user)
        seen[name] = client.get(url).content.decode()
    support = Client()
    support.force_login(make_role_user("Support"))

    compliance, billing = seen["compliance"], seen["billing"]
    assert "release the legal hold" in compliance and "refund 45.00 USD" not in compliance
    assert "refund 45.00 USD" in billing and "release the legal hold" not in billing
    assert support.get(url).status_code == 403


@pytest.mark.postgres
@pytest.mark.parametrize("sql", ["UPDATE {table} SET id = id", "DELETE FROM {table}"])
def test_sign_off_records_cannot_be_edited_or_deleted_even_by_raw_sql_R12(officers, sql):
    asks, signs = officers
    account = _held()
    request = legal_hold_release_request(
        account=account, reason="done", by=asks, now=timezone.now()
    )
    approval_reject(request=request, by=signs, now=timezone.now(), note="no")

    for table in ("approvals_approvalrequest", "approvals_approvaldecision"):
        with pytest.raises(DatabaseError, match="cannot be edited or deleted"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql.format(table=table))
    with pytest.raises(PermissionError):
        ApprovalRequest.objects.filter(pk=request.pk).update(reason="changed")


def test_the_sign_offs_speak_german_to_a_german_officer(client, officers):
    asks, signs = officers
    account = _held()
    legal_hold_release_request(account=account, reason="done", by=asks, now=timezone.now())
    client.force_login(signs.user)

    page = client.get(
        reverse("admin:approvals_approvalrequest_changelist"), HTTP_ACCEPT_LANGUAGE="de"
    ).content.decode()

    assert "Freigabeanträge" in page and "Wartet auf Freigabe" in page
    assert "Rechtliche Sperre aufheben" in page
