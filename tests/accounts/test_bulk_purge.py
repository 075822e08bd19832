"""The purge move for many accounts at once still leaves one event per account (R7, R12)."""

import pytest

from accounts.models import AccountEvent, AccountStatus
from accounts.services import LifecycleError, accounts_mark_purged
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def test_bulk_purge_moves_each_account_once_with_its_own_event_R7_R12(job_actor, now):
    closed = AccountFactory.create_batch(3, status=AccountStatus.CANCELLED)
    already = AccountFactory(status=AccountStatus.PURGED)
    reasons = {a.pk: f"purged {a.username}" for a in closed}

    moved = accounts_mark_purged(
        accounts=[*closed, already], by=job_actor, now=now, reasons=reasons
    )
    again = accounts_mark_purged(accounts=closed, by=job_actor, now=now, reasons=reasons)

    assert moved == sorted(a.pk for a in closed)
    assert again == []
    events = AccountEvent.objects.filter(kind="purge")
    assert sorted(e.account_id for e in events) == sorted(a.pk for a in closed)
    assert {e.reason for e in events} == set(reasons.values())
    assert all(e.by_job == job_actor.job and e.from_status == "cancelled" for e in events)


def test_bulk_purge_refuses_the_whole_batch_if_one_account_is_open_R7(job_actor, now):
    closed = AccountFactory(status=AccountStatus.EXPIRED)
    active = AccountFactory(status=AccountStatus.ACTIVE)

    with pytest.raises(LifecycleError, match=r"\(R7\)"):
        accounts_mark_purged(accounts=[closed, active], by=job_actor, now=now, reasons={})

    closed.refresh_from_db()
    assert closed.status == AccountStatus.EXPIRED
    assert not AccountEvent.objects.filter(kind="purge").exists()


def test_bulk_purge_of_accounts_read_under_lock_still_refuses_an_open_one_R7(job_actor, now):
    """The purge's step hands over the accounts it read under their locks (no second read):
    the move still refuses a batch with an account that is not closed, and writes nothing."""
    from django.db import transaction

    from accounts.models import Account

    closed = AccountFactory(status=AccountStatus.EXPIRED)
    active = AccountFactory(status=AccountStatus.ACTIVE)

    with transaction.atomic():
        locked = list(
            Account.objects.select_for_update().filter(pk__in=[closed.pk, active.pk]).order_by("pk")
        )
        with pytest.raises(LifecycleError, match=r"\(R7\)"):
            accounts_mark_purged(
                accounts=locked, by=job_actor, now=now, reasons={}, read_under_lock=True
            )

    closed.refresh_from_db()
    assert closed.status == AccountStatus.EXPIRED
    assert not AccountEvent.objects.filter(kind="purge").exists()
