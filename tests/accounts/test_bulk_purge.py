"""The purge move for many accounts at once still leaves one event per account (R7, R12)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AccountEvent, AccountStatus, Campaign, Contact
from accounts.services import LifecycleError, accounts_mark_purged
from accounts.services.purge import content_delete_batch
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


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the bounded path is PostgreSQL's")
def test_the_bounded_path_looks_for_what_is_left_through_the_indexes_R7():
    """R7's purge of a big account: the look at which kinds still have rows is an index
    lookup past the walk. The planner took a sequential scan for it where the account held
    most of the table, reading every row earlier steps had deleted, so the step that finished
    a 10M-contact account took over a second."""
    account = AccountFactory(status=AccountStatus.CANCELLED)
    Contact.objects.create(account=account, email="a@example.com")

    with CaptureQueriesContext(connection) as captured:
        content_delete_batch(account_ids=[account.pk], limit=10, at_once=False)

    sqls = [q["sql"] for q in captured.captured_queries]
    look = next(i for i, sql in enumerate(sqls) if sql.startswith("SELECT a.id, EXISTS"))
    assert sqls[look - 1] == "SET LOCAL enable_seqscan = off"
    assert not Contact.objects.filter(account=account).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plain DELETE is PostgreSQL's")
def test_a_group_of_small_accounts_is_deleted_through_the_account_index_R7():
    """R7's purge of a group of small accounts: each kind's one DELETE names the accounts by id
    and runs with sequential scans off. Where the group was a large share of a table, or the
    table's index was swollen by earlier purges, the planner scanned the whole table for every
    step's DELETE (100 accounts of 10,000 contacts, alternating rounds: 1.35 s, 0.37–0.45× one
    raw DELETE of the same rows; 0.79 s, 0.78–0.90× through the index); the rest of the step
    runs with the planner's defaults again."""
    group = AccountFactory.create_batch(2, status=AccountStatus.CANCELLED)
    for account in group:
        Contact.objects.create(account=account, email=f"{account.username}@example.com")

    with CaptureQueriesContext(connection) as captured:
        deleted = content_delete_batch(account_ids=[a.pk for a in group], limit=10)

    sqls = [q["sql"] for q in captured.captured_queries]
    delete = next(i for i, sql in enumerate(sqls) if sql.startswith("DELETE FROM accounts_contact"))
    # the planner setting in force at the DELETE: the last one set before it
    assert [sql for sql in sqls[:delete] if "enable_seqscan" in sql][-1:] == [
        "SET LOCAL enable_seqscan = off"
    ]
    assert sqls[delete + 1 :] == ["RESET enable_seqscan"]
    assert deleted.done == {a.pk for a in group}
    assert not Contact.objects.filter(account__in=group).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the bounded path is PostgreSQL's")
def test_every_statement_of_a_bounded_batch_runs_through_the_indexes_R7():
    """R7's purge of a big account: the look at what is left, the walk of its contacts and the
    DELETE of its other kinds by address (ctid) all run with sequential scans off, turned off
    once for the batch and on again at its end. Only the look and the walk did before, each
    with a pair of its own; the DELETE by address picked its rows with the planner's default,
    a scan from the table's first page where one account is most of it."""
    account = AccountFactory(status=AccountStatus.CANCELLED)
    Contact.objects.create(account=account, email="a@example.com")
    Campaign.objects.create(account=account, name="Spring")

    with CaptureQueriesContext(connection) as captured:
        deleted = content_delete_batch(account_ids=[account.pk], limit=10, at_once=False)

    sqls = [q["sql"] for q in captured.captured_queries]
    assert sqls[0] == "SET LOCAL enable_seqscan = off"
    assert sqls[-1] == "RESET enable_seqscan"
    assert [sql for sql in sqls if "enable_seqscan" in sql] == [sqls[0], sqls[-1]]
    assert any(sql.startswith("DELETE FROM accounts_campaign WHERE ctid") for sql in sqls)
    assert deleted.done == {account.pk}
    assert not Campaign.objects.filter(account=account).exists()
