"""The SPEC's lifecycle table, in full: every allowed move happens with its event, every other
move is refused with the state and the rule named and nothing changed (R12 traces each one)."""

from __future__ import annotations

import pytest

from accounts.models import AccountEvent, AccountStatus, CancellationRequest
from accounts.services import (
    LifecycleError,
    account_activate,
    account_expire_trial,
    account_mark_purged,
    account_pause,
    account_resume,
    account_suspend,
    account_unsuspend,
)
from tests.factories import AccountFactory
from workflows.cancellation import account_cancel
from workflows.reactivation import account_reactivate

pytestmark = pytest.mark.django_db

S = AccountStatus
ALL = list(S.values)


def cancel(**kw):
    return account_cancel(**kw, voluntary=True)


# service, allowed sources, target, rule named on refusal
MOVES = [
    (account_activate, [S.TRIAL], S.ACTIVE, "lifecycle"),
    (account_expire_trial, [S.TRIAL], S.EXPIRED, "R1"),
    (account_pause, [S.ACTIVE], S.PAUSED, "R8"),
    (account_resume, [S.PAUSED], S.ACTIVE, "R8"),
    (account_suspend, [S.ACTIVE, S.PAUSED], S.SUSPENDED, "R11"),
    (account_unsuspend, [S.SUSPENDED], S.ACTIVE, "R11"),
    (cancel, [S.ACTIVE, S.PAUSED, S.SUSPENDED], S.CANCELLED, "R2"),
    (account_reactivate, [S.CANCELLED, S.EXPIRED], S.ACTIVE, "R7"),
    (account_mark_purged, [S.CANCELLED, S.EXPIRED], S.PURGED, "R7"),
]

ALLOWED = [
    pytest.param(service, source, target, id=f"{service.__name__}-{source}")
    for service, sources, target, _ in MOVES
    for source in sources
]
REFUSED = [
    pytest.param(service, source, rule, id=f"{service.__name__}-{source}")
    for service, sources, target, rule in MOVES
    for source in ALL
    if source not in sources and source != target
]


def make(status, now):
    inactive = now if status in (S.CANCELLED, S.EXPIRED, S.PURGED) else None
    return AccountFactory(status=status, inactive_since=inactive, trial_ends_at=now)


@pytest.mark.parametrize(("service", "source", "target"), ALLOWED)
def test_every_allowed_move_happens_with_an_event_R12(service, source, target, agent, now):
    account = make(source, now)

    service(account=account, by=agent, now=now, reason="why it happened")

    account.refresh_from_db()
    assert account.status == target
    event = AccountEvent.objects.get(account=account)
    assert (event.from_status, event.to_status, event.by_user, event.at, event.reason) == (
        source,
        target,
        agent.user,
        now,
        "why it happened",
    )


@pytest.mark.parametrize(("service", "source", "rule"), REFUSED)
def test_every_other_move_is_refused_naming_state_and_rule(service, source, rule, agent, now):
    account = make(source, now)

    with pytest.raises(LifecycleError) as refused:
        service(account=account, by=agent, now=now, reason="x")

    message = str(refused.value)
    assert f"({'R1' if source == S.TRIAL and service is cancel else rule})" in message
    if source != S.TRIAL or service is not cancel:
        assert S(source).label.lower() in message
    account.refresh_from_db()
    assert account.status == source
    assert not AccountEvent.objects.filter(account=account).exists()
    assert not CancellationRequest.objects.filter(account=account).exists()


@pytest.mark.parametrize("service", [m[0] for m in MOVES], ids=[m[0].__name__ for m in MOVES])
def test_a_move_already_done_returns_early_without_an_event_R12(service, agent, now):
    target = next(m[2] for m in MOVES if m[0] is service)
    account = make(target, now)

    service(account=account, by=agent, now=now, reason="again")

    account.refresh_from_db()
    assert account.status == target
    assert not AccountEvent.objects.filter(account=account).exists()


def test_there_are_refusals_for_every_state():
    refused_states = {p.values[1] for p in REFUSED}

    assert refused_states == set(ALL)
