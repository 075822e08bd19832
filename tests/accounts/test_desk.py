"""The cancellation desk (R1, R2, R6, R8): an agent records a customer's call."""

from __future__ import annotations

from datetime import timedelta

import pytest

from accounts.models import (
    AccountEvent,
    AccountStatus,
    CancellationOutcome,
    CancellationRequest,
    HostedFile,
    Integration,
)
from accounts.services import DeskError, LifecycleError
from core.actors import Actor
from tests.accounts.factories import (
    CancellationReasonFactory,
    HostedFileFactory,
    IntegrationFactory,
    SignupFormFactory,
)
from tests.factories import AccountFactory
from workflows.cancellation import account_cancel
from workflows.desk import cancellation_call_take

pytestmark = pytest.mark.django_db
S = AccountStatus


@pytest.fixture
def support(make_role_user) -> Actor:
    return Actor.staff(make_role_user("Support", "support.sam"))


@pytest.fixture
def reason():
    return CancellationReasonFactory(name="Too expensive")


def take(account, by, now, **overrides):
    values = {
        "username_typed": account.username,
        "reason": overrides.pop("reason", None),
        "callers_words": "We are closing the shop",
        "pause_accepted": False,
    }
    values.update(overrides)
    return cancellation_call_take(account=account, by=by, now=now, **values)


def assert_unchanged(account, status):
    account.refresh_from_db()
    assert account.status == status
    assert not AccountEvent.objects.filter(account=account).exists()
    assert not CancellationRequest.objects.filter(account=account).exists()


def test_declined_pause_cancels_voluntarily_with_r6_effects_R2_R6_R8(support, reason, now):
    account = AccountFactory(status=S.ACTIVE)
    IntegrationFactory(account=account)
    HostedFileFactory(account=account)

    request = take(account, support, now, reason=reason, pause_accepted=False)

    account.refresh_from_db()
    assert account.status == S.CANCELLED
    assert account.inactive_since == now
    assert (request.voluntary, request.pause_offered, request.pause_accepted) == (True, True, False)
    assert (request.outcome, request.reason, request.taken_by) == (
        CancellationOutcome.CANCELLED,
        reason,
        support.user,
    )
    assert request.callers_words == "We are closing the shop"
    assert not Integration.objects.get(account=account).connected
    assert not HostedFile.objects.get(account=account).online
    event = AccountEvent.objects.get(account=account)
    assert (event.kind, event.by_user) == ("cancelled_voluntary", support.user)
    assert "Too expensive" in event.reason


def test_accepted_pause_pauses_instead_and_is_recorded_as_saved_by_pause_R8(support, reason, now):
    account = AccountFactory(status=S.ACTIVE)
    HostedFileFactory(account=account)

    request = take(account, support, now, reason=reason, pause_accepted=True)

    account.refresh_from_db()
    assert account.status == S.PAUSED
    assert (request.outcome, request.pause_accepted) == (CancellationOutcome.SAVED_BY_PAUSE, True)
    assert HostedFile.objects.get(account=account).online


def test_wrong_username_is_refused_and_changes_nothing_R2(support, reason, now):
    account = AccountFactory(status=S.ACTIVE)

    with pytest.raises(DeskError, match=r"does not match.*\(R2\)"):
        take(account, support, now, reason=reason, username_typed=account.username + "x")

    assert_unchanged(account, S.ACTIVE)


def test_missing_reason_is_refused_and_changes_nothing_R2(support, now):
    account = AccountFactory(status=S.ACTIVE)

    with pytest.raises(DeskError, match=r"no reason, no cancellation \(R2\)"):
        take(account, support, now, reason=None)

    assert_unchanged(account, S.ACTIVE)


def test_a_retired_reason_is_not_accepted_but_stays_on_old_requests_R2(support, now):
    reason = CancellationReasonFactory(name="Holiday season")
    old = take(AccountFactory(status=S.ACTIVE), support, now, reason=reason)
    reason.active = False
    reason.save()
    account = AccountFactory(status=S.ACTIVE)

    with pytest.raises(DeskError, match="retired"):
        take(account, support, now, reason=reason)

    assert_unchanged(account, S.ACTIVE)
    old.refresh_from_db()
    assert old.reason == reason


def test_an_active_account_must_be_offered_pausing_first_R8(support, reason, now):
    account = AccountFactory(status=S.ACTIVE)

    with pytest.raises(DeskError, match=r"offer pausing first.*\(R2, R8\)"):
        take(account, support, now, reason=reason, pause_accepted=None)

    assert_unchanged(account, S.ACTIVE)


def test_cancelling_a_cancelled_account_says_so_and_changes_nothing_R2(support, reason, now):
    account = AccountFactory(status=S.CANCELLED, inactive_since=now - timedelta(days=3))

    with pytest.raises(DeskError, match="already cancelled"):
        take(account, support, now, reason=reason)

    assert_unchanged(account, S.CANCELLED)


def test_pausing_a_suspended_account_is_refused_and_changes_nothing_R8(support, reason, now):
    account = AccountFactory(status=S.SUSPENDED)

    with pytest.raises(LifecycleError, match=r"suspended.*\(R8\)"):
        take(account, support, now, reason=reason, pause_accepted=True)

    assert_unchanged(account, S.SUSPENDED)


def test_a_suspended_account_is_cancelled_without_a_pause_offer_R2(support, reason, now):
    account = AccountFactory(status=S.SUSPENDED)

    request = take(account, support, now, reason=reason, pause_accepted=None)

    account.refresh_from_db()
    assert account.status == S.CANCELLED
    assert (request.pause_offered, request.voluntary) == (False, True)


def test_a_trial_is_not_cancelled_the_desk_says_when_it_ends_R1(support, reason, now):
    account = AccountFactory(
        status=S.TRIAL, time_zone="Europe/Berlin", trial_ends_at=now + timedelta(days=5)
    )

    with pytest.raises(DeskError, match=r"ends by itself on 2026-11-30 13:00 CET \(R1\)"):
        take(account, support, now, reason=reason, pause_accepted=None)

    assert_unchanged(account, S.TRIAL)


def test_a_trial_can_be_closed_now_if_the_customer_insists_R1(support, reason, now):
    account = AccountFactory(status=S.TRIAL, trial_ends_at=now + timedelta(days=5))
    HostedFileFactory(account=account)

    request = take(account, support, now, reason=reason, pause_accepted=None, close_trial=True)

    account.refresh_from_db()
    assert account.status == S.EXPIRED
    assert account.inactive_since == now
    assert request.outcome == CancellationOutcome.TRIAL_CLOSED
    assert not HostedFile.objects.get(account=account).online


def test_a_staff_user_without_the_desk_permission_is_refused(make_role_user, reason, now):
    account = AccountFactory(status=S.ACTIVE)
    clerk = Actor.staff(make_role_user("Billing", "billing.bea"))

    with pytest.raises(DeskError, match="may not take cancellation calls"):
        take(account, clerk, now, reason=reason)

    assert_unchanged(account, S.ACTIVE)


def test_the_systems_cancellation_records_an_involuntary_request_R4_R11(now):
    account = AccountFactory(status=S.SUSPENDED)
    SignupFormFactory(account=account)

    account_cancel(
        account=account,
        by=Actor.system("cancel_unpaid"),
        now=now,
        reason="Unpaid for more than 90 days",
        voluntary=False,
    )

    request = CancellationRequest.objects.get(account=account)
    assert (request.voluntary, request.by_job, request.taken_by) == (False, "cancel_unpaid", None)
    assert request.reason.name == "Non-payment"
    assert request.confirmation_sent_at is None
    event = AccountEvent.objects.get(account=account)
    assert event.kind == "cancelled_involuntary"


def test_a_paused_account_that_stays_paused_is_saved_by_pause_on_the_timeline_R8(
    support, reason, now
):
    account = AccountFactory(status=S.PAUSED)

    request = take(account, support, now, reason=reason, pause_accepted=True)

    account.refresh_from_db()
    assert account.status == S.PAUSED
    assert request.outcome == CancellationOutcome.SAVED_BY_PAUSE
    assert AccountEvent.objects.get(account=account).kind == "saved_by_pause"
