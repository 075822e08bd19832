"""Accounts with the timeline their state implies (R12), for tests that check the invariants
over data they built in bulk: each account's status events lead from its creation (a trial)
to its state, as the lifecycle services would have written them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from accounts.models import Account, AccountEvent, AccountStatus

S = AccountStatus
# The moves that lead to each state, from the account's creation as a trial.
PATHS: dict[str, list[tuple[str, str, str]]] = {
    S.TRIAL: [("created", "", S.TRIAL)],
    S.ACTIVE: [("created", "", S.TRIAL), ("activate", S.TRIAL, S.ACTIVE)],
    S.PAUSED: [
        ("created", "", S.TRIAL),
        ("activate", S.TRIAL, S.ACTIVE),
        ("pause", S.ACTIVE, S.PAUSED),
    ],
    S.SUSPENDED: [
        ("created", "", S.TRIAL),
        ("activate", S.TRIAL, S.ACTIVE),
        ("suspend", S.ACTIVE, S.SUSPENDED),
    ],
    S.CANCELLED: [
        ("created", "", S.TRIAL),
        ("activate", S.TRIAL, S.ACTIVE),
        ("cancelled_voluntary", S.ACTIVE, S.CANCELLED),
    ],
    S.EXPIRED: [("created", "", S.TRIAL), ("expire_trial", S.TRIAL, S.EXPIRED)],
    S.PURGED: [
        ("created", "", S.TRIAL),
        ("activate", S.TRIAL, S.ACTIVE),
        ("cancelled_voluntary", S.ACTIVE, S.CANCELLED),
        ("purge", S.CANCELLED, S.PURGED),
    ],
}


def histories(accounts: Iterable[Account]) -> int:
    """Write each account's status events, a minute or more apart from its creation, the
    move that closed it at its `inactive_since`; returns how many."""
    events = []
    for account in accounts:
        previous = None
        for n, (kind, source, target) in enumerate(PATHS[account.status]):
            at = account.created_at + timedelta(minutes=n)
            if target in (S.CANCELLED, S.EXPIRED) and account.inactive_since:
                at = account.inactive_since
            if previous is not None:
                at = max(at, previous + timedelta(minutes=1))
            previous = at
            events.append(
                AccountEvent(
                    account=account,
                    at=at,
                    kind=kind,
                    from_status=source,
                    to_status=target,
                    by_job="test_setup",
                    reason="as the test set it up",
                )
            )
    AccountEvent.objects.bulk_create(events, batch_size=5000)
    return len(events)
