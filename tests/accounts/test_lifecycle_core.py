"""The lifecycle table (SPEC "Lifecycle"): allowed moves happen, every other move is refused."""

import pytest

from accounts.models import AccountEvent, AccountStatus
from accounts.services import (
    LifecycleError,
    account_pause,
)
from tests.factories import AccountFactory
from workflows.cancellation import account_cancel

pytestmark = pytest.mark.django_db


def test_pause_active_account_records_who_and_why_R8_R12(agent, now):
    account = AccountFactory(status=AccountStatus.ACTIVE)

    account_pause(account=account, by=agent, now=now, reason="Seasonal business")

    account.refresh_from_db()
    assert account.status == AccountStatus.PAUSED
    event = AccountEvent.objects.get(account=account)
    assert (event.from_status, event.to_status, event.by_user, event.at) == (
        "active",
        "paused",
        agent.user,
        now,
    )


def test_pausing_a_suspended_account_is_refused_and_changes_nothing_R8(agent, now):
    account = AccountFactory(status=AccountStatus.SUSPENDED)

    with pytest.raises(LifecycleError, match=r"suspended.*\(R8\)"):
        account_pause(account=account, by=agent, now=now, reason="x")

    account.refresh_from_db()
    assert account.status == AccountStatus.SUSPENDED
    assert not AccountEvent.objects.filter(account=account).exists()


def test_cancelling_a_trial_says_it_ends_by_itself_R1(agent, now):
    account = AccountFactory(status=AccountStatus.TRIAL, trial_ends_at=now)

    with pytest.raises(LifecycleError, match=r"ends by itself.*\(R1\)"):
        account_cancel(account=account, by=agent, now=now, reason="x", voluntary=True)


def test_cancelling_twice_returns_early_with_one_event_R12(agent, now):
    account = AccountFactory(status=AccountStatus.ACTIVE)

    account_cancel(account=account, by=agent, now=now, reason="Too expensive", voluntary=True)
    account_cancel(account=account, by=agent, now=now, reason="Too expensive", voluntary=True)

    assert AccountEvent.objects.filter(account=account).count() == 1
    account.refresh_from_db()
    assert account.inactive_since == now


def test_account_events_cannot_be_edited_or_deleted_R12(agent, now):
    account = AccountFactory(status=AccountStatus.ACTIVE)
    account_pause(account=account, by=agent, now=now, reason="x")
    event = AccountEvent.objects.get(account=account)

    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AccountEvent.objects.filter(account=account).update(reason="changed")
    event.reason = "changed"
    with pytest.raises(PermissionError):
        event.save()
