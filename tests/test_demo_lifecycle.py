"""The demo data tells one consistent story per account (R7, R12): an account closed on a day
carries that day as its "inactive since", on its timeline, on its cancellation request and its
confirmation, and in billing's own closing; a purge comes after its retention; a legal hold is
set before the purge day it stops.

The review found a cancellation of Nov 28 whose account was "inactive since" July 2: the
account was purged a day after its confirmation promised 120 days."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import Max
from django.utils import timezone

from accounts.models import (
    INACTIVE_STATUSES,
    Account,
    AccountEvent,
    AccountStatus,
    CancellationOutcome,
    CancellationRequest,
)
from accounts.selectors import purge_day
from approvals.models import ApprovalRequest, ApprovalState
from approvals.selectors import approvals_with_state
from billing.models import BillingProfile, EntryKind, LedgerEntry
from compliance.models import PurgeReceipt

pytestmark = pytest.mark.django_db

S = AccountStatus
CLOSING_EVENTS = ("cancelled_voluntary", "cancelled_involuntary", "expire_trial")


@pytest.fixture
def demo(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("seed_demo", accounts=160, stdout=open(tmp_path / "seed.log", "w"))  # noqa: SIM115
    return Account.objects.all()


def _closing_day(account: Account):
    return AccountEvent.objects.filter(account=account, kind__in=CLOSING_EVENTS).aggregate(
        last=Max("at")
    )["last"]


def test_every_closed_demo_account_is_inactive_since_the_day_it_closed_R7(demo):
    closed = demo.filter(status__in=(*INACTIVE_STATUSES, S.PURGED))
    assert closed.filter(status=S.CANCELLED).count() >= 7
    for account in closed:
        closing = _closing_day(account)
        assert closing is not None, account
        assert account.inactive_since == closing, (account, account.inactive_since, closing)
        for request in CancellationRequest.objects.filter(account=account).exclude(
            outcome=CancellationOutcome.SAVED_BY_PAUSE
        ):
            assert request.at == account.inactive_since, (account, request.at)
            if request.confirmation_sent_at is not None:
                assert request.at <= request.confirmation_sent_at, account


def test_billing_closed_with_each_cancelled_demo_account_and_charged_nothing_after_R3(demo):
    profiles = BillingProfile.objects.select_related("account").filter(
        account__status__in=(S.CANCELLED, S.PURGED)
    )
    assert profiles.exists()
    for profile in profiles:
        account = profile.account
        assert profile.closed_at == account.inactive_since, account
        assert profile.due_at is None, account
        charged_after = LedgerEntry.objects.filter(
            account=account,
            at__gt=account.inactive_since,
            kind__in=(EntryKind.CHARGE, EntryKind.PREPAID_CONSUMPTION, EntryKind.PAUSE_FEE),
        )
        assert not charged_after.exists(), account
    open_profiles = BillingProfile.objects.exclude(account__status__in=(S.CANCELLED, S.PURGED))
    assert not open_profiles.filter(closed_at__isnull=False).exists()


def test_demo_purges_come_after_retention_and_holds_before_the_purge_day_R7(demo):
    for receipt in PurgeReceipt.objects.select_related("account"):
        account = receipt.account
        assert receipt.inactive_since == account.inactive_since, account
        assert receipt.at >= account.inactive_since + timedelta(days=121), account
        purge = AccountEvent.objects.get(account=account, kind="purge")
        assert purge.at >= account.inactive_since + timedelta(days=121), account
    held = demo.get(legal_hold=True)
    assert held.status == S.CANCELLED
    hold_set = AccountEvent.objects.get(account=held, kind="legal_hold_set")
    assert hold_set.at.date() < purge_day(held)
    # and two accounts come up for purge within the week (the retention list's filter)
    today = timezone.now().date()
    soon = [
        a
        for a in demo.filter(status=S.CANCELLED, legal_hold=False)
        if today < purge_day(a) <= today + timedelta(days=7)
    ]
    assert len(soon) >= 2


def test_the_demo_shows_sign_offs_waiting_approved_rejected_and_expired(demo):
    states = set(
        approvals_with_state(as_of=timezone.now()).values_list("state", flat=True).distinct()
    )
    assert states == set(ApprovalState.values)
    waiting = approvals_with_state(as_of=timezone.now()).filter(state=ApprovalState.PENDING)
    assert set(waiting.values_list("kind", flat=True)) == {"legal_hold_release", "refund"}
    assert PurgeReceipt.objects.filter(run__startswith="purge by hand, sign-off #").exists()
    for request in ApprovalRequest.objects.all():
        assert AccountEvent.objects.filter(
            account=request.account, kind="approval_requested", at=request.requested_at
        ).exists()
