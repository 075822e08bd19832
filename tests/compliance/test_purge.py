"""Retention and purge (R7), keeping every suppression (R9)."""

from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import (
    AccountEvent,
    AccountStatus,
    Campaign,
    CampaignReport,
    Contact,
    HostedFile,
    SignupForm,
    SignupSubmission,
)
from accounts.selectors import accounts_due_for_purge, purge_day
from accounts.services import LegalHoldError, account_legal_hold_release, account_legal_hold_set
from compliance.models import PurgeProgress, PurgeReceipt
from compliance.selectors import is_suppressed
from compliance.services import (
    suppression_export,
    suppression_record,
)
from core.actors import Actor
from tests.compliance.factories import ContactFactory
from tests.factories import AccountFactory
from tests.jobrun import job
from workflows.purge import account_purge_step, accounts_purge_step

purge_inactive = job("purge_inactive")
pytestmark = pytest.mark.django_db

JOB = Actor.system("purge_inactive")
# Cancelled at 23:30 on 1 March in Berlin (22:30 UTC): day 0 is 1 March on its calendar.
CANCELLED_AT = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)


def inactive_account(**kwargs):
    defaults = dict(
        status=AccountStatus.CANCELLED, inactive_since=CANCELLED_AT, time_zone="Europe/Berlin"
    )
    return AccountFactory(**{**defaults, **kwargs})


def with_content(account, contacts=3):
    form = SignupForm.objects.create(account=account, name="Footer", public_key=f"f{account.pk}")
    for i in range(contacts):
        ContactFactory(account=account, email=f"c{i}-{account.pk}@example.com", signup_form=form)
    for name in ("Spring", "Summer"):
        campaign = Campaign.objects.create(account=account, name=name)
        CampaignReport.objects.create(campaign=campaign, recipients=10)
    SignupSubmission.objects.create(
        form=form, account=account, email="s@example.com", at=CANCELLED_AT
    )
    HostedFile.objects.create(
        account=account, public_key=f"h{account.pk}", name="logo.png", content=b"\x89PNG"
    )
    suppression_record(
        account=account,
        address="gone@example.com",
        source="unsubscribe_link",
        at=CANCELLED_AT,
        by=JOB,
    )
    return account


def assert_foreign_keys_hold():
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # raises on a dangling key
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            cursor.execute("PRAGMA foreign_key_check")
            assert cursor.fetchall() == []


def local_noon(day):
    import zoneinfo

    return datetime.combine(
        day, datetime.min.time(), tzinfo=zoneinfo.ZoneInfo("Europe/Berlin")
    ) + timedelta(hours=12)


def test_purge_on_day_120_does_nothing_and_on_day_121_purges_R7():
    account = with_content(inactive_account())
    day0 = CANCELLED_AT.astimezone(account.zone).date()
    day120 = local_noon(day0 + timedelta(days=120))
    day121_start = local_noon(day0 + timedelta(days=121)) - timedelta(hours=12)

    assert purge_day(account) == day0 + timedelta(days=121)
    counts = purge_inactive(as_of=day120, dry_run=False)
    assert counts["accounts_purged"] == 0
    assert Contact.objects.filter(account=account).count() == 3
    # Last minute of day 120 on the account's calendar: still not.
    assert not accounts_due_for_purge(as_of=day121_start - timedelta(minutes=1)).exists()

    counts = purge_inactive(as_of=day121_start, dry_run=False)

    account.refresh_from_db()
    assert counts["accounts_purged"] == 1 and counts["contacts"] == 3
    assert account.status == AccountStatus.PURGED
    for model in (Contact, Campaign, SignupSubmission, SignupForm, HostedFile):
        assert not model.objects.filter(account=account).exists()
    assert not CampaignReport.objects.filter(campaign__account=account).exists()
    receipt = PurgeReceipt.objects.get(account=account)
    assert receipt.counts == {
        "campaign_reports": 2,
        "campaigns": 2,
        "signup_submissions": 1,
        "contacts": 3,
        "signup_forms": 1,
        "integrations": 0,
        "hosted_files": 1,
    }
    assert receipt.by_job == "purge_inactive" and receipt.at == day121_start
    assert AccountEvent.objects.filter(account=account, to_status="purged").exists()


def test_suppression_survives_purge_and_export_still_lists_it_R9_R10():
    account = with_content(inactive_account())
    as_of = CANCELLED_AT + timedelta(days=200)

    purge_inactive(as_of=as_of, dry_run=False)

    assert is_suppressed(account, "gone@example.com", at=as_of)
    data = b"".join(
        suppression_export(account=account, purpose="hand-over", fmt="csv", by=JOB, now=as_of)
    )
    assert b"gone@example.com" in data


def test_legal_hold_and_reactivated_accounts_are_never_purged_R7(agent, make_role_user):
    officer = Actor.staff(make_role_user("Compliance"))
    held = with_content(inactive_account())
    reactivated = with_content(inactive_account(status=AccountStatus.ACTIVE, inactive_since=None))
    as_of = CANCELLED_AT + timedelta(days=300)

    account_legal_hold_set(account=held, reason="Subpoena 2026-114", by=officer, now=as_of)
    counts = purge_inactive(as_of=as_of, dry_run=False)

    assert counts["accounts_purged"] == 0
    assert Contact.objects.filter(account__in=[held, reactivated]).count() == 6
    assert AccountEvent.objects.filter(account=held, kind="legal_hold_set").exists()

    second = Actor.staff(make_role_user("Compliance", "second.officer"))
    account_legal_hold_release(
        account=held, reason="Case closed", by=second, requested_by=officer, now=as_of
    )
    assert purge_inactive(as_of=as_of, dry_run=False)["accounts_purged"] == 1


def test_legal_hold_needs_a_reason_and_the_compliance_role(agent, now):
    account = inactive_account()

    with pytest.raises(LegalHoldError, match="may not"):
        account_legal_hold_set(account=account, reason="x", by=agent, now=now)
    account.refresh_from_db()
    assert not account.legal_hold


def test_dry_run_lists_counts_and_changes_nothing_R7():
    account = with_content(inactive_account())

    counts = purge_inactive(as_of=CANCELLED_AT + timedelta(days=130), dry_run=True)

    assert counts["accounts"] == 1 and counts["contacts"] == 3 and counts["hosted_files"] == 1
    account.refresh_from_db()
    assert account.status == AccountStatus.CANCELLED
    assert Contact.objects.filter(account=account).count() == 3
    assert not PurgeReceipt.objects.exists()


def test_a_purge_stopped_half_way_is_finished_by_the_next_run_with_exact_counts_R7():
    account = with_content(inactive_account(), contacts=7)
    as_of = CANCELLED_AT + timedelta(days=130)

    # given a run that deleted one batch and then died
    step = account_purge_step(account_id=account.pk, by=JOB, now=as_of, run="run 1", batch=1)
    assert step.state == "more"
    # the form stays while contacts still point at it: the foreign keys hold at commit
    assert_foreign_keys_hold()
    assert SignupForm.objects.filter(account=account).exists()
    assert Contact.objects.filter(account=account).count() == 6
    assert PurgeProgress.objects.filter(account=account).exists()

    # when the next run comes
    counts = purge_inactive(as_of=as_of + timedelta(days=1), dry_run=False)

    # then it finishes, counting every row once, and the suppression is still there
    receipt = PurgeReceipt.objects.get(account=account)
    assert receipt.counts["contacts"] == 7 and receipt.counts["campaigns"] == 2
    assert counts["accounts_purged"] == 1
    assert not PurgeProgress.objects.exists()
    assert is_suppressed(account, "gone@example.com", at=as_of)


def test_purge_runs_twice_safely():
    account = with_content(inactive_account())
    as_of = CANCELLED_AT + timedelta(days=130)

    purge_inactive(as_of=as_of, dry_run=False)
    second = purge_inactive(as_of=as_of, dry_run=False)

    assert second["accounts_purged"] == 0
    assert PurgeReceipt.objects.filter(account=account).count() == 1


def test_a_group_purged_in_several_steps_counts_each_account_exactly_R7():
    small = with_content(inactive_account(), contacts=1)
    large = with_content(inactive_account(), contacts=5)
    held = with_content(inactive_account(legal_hold=True, legal_hold_reason="case"))
    as_of = CANCELLED_AT + timedelta(days=130)

    step = accounts_purge_step(
        account_ids=[small.pk, large.pk, held.pk], by=JOB, now=as_of, run="r", batch=3
    )
    assert step.more and step.skipped == 1
    assert_foreign_keys_hold()
    purge_inactive(as_of=as_of, dry_run=False)

    receipts = {r.account_id: r.counts for r in PurgeReceipt.objects.all()}
    assert set(receipts) == {small.pk, large.pk}
    assert (receipts[small.pk]["contacts"], receipts[large.pk]["contacts"]) == (1, 5)
    assert receipts[large.pk]["campaign_reports"] == 2
    assert Contact.objects.filter(account=held).count() == 3


def test_a_big_account_is_purged_in_bounded_steps_never_counting_all_its_rows_again_R7():
    """Issue 17: each step of a big account's purge used to count every row the account had
    left before deleting a batch (work growing with the square of its size). The first step
    looks at no more than a batch of each kind; the later ones count nothing; the receipt is
    still exact."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    account = with_content(inactive_account(), contacts=7)
    as_of = CANCELLED_AT + timedelta(days=130)
    content = ("accounts_contact", "accounts_campaign", "accounts_signup", "accounts_hostedfile")

    steps = []
    state = "more"
    while state == "more":
        with CaptureQueriesContext(connection) as captured:
            state = account_purge_step(
                account_id=account.pk, by=JOB, now=as_of, run="r", batch=2
            ).state
        assert_foreign_keys_hold()
        # A count of the account's rows (not of a batch picked by id, as the embedded
        # default's path counts what it is about to delete).
        counts = [
            q["sql"]
            for q in captured.captured_queries
            if "COUNT(" in q["sql"].upper()
            and any(t in q["sql"] for t in content)
            and " WHERE id IN (" not in q["sql"]
        ]
        steps.append(counts)

    assert state == "purged" and len(steps) >= 4
    if connection.vendor == "postgresql":
        assert steps[0] and all("LIMIT" in sql for sql in steps[0])
    assert all(not counts for counts in steps[1:])
    receipt = PurgeReceipt.objects.get(account=account)
    assert receipt.counts["contacts"] == 7 and receipt.counts["campaign_reports"] == 2
    assert receipt.counts["signup_forms"] == 1 and receipt.counts["hosted_files"] == 1
    assert not Contact.objects.filter(account=account).exists()


def test_a_group_of_mid_size_accounts_is_purged_account_by_account_in_bounded_steps_R7():
    """Issue 17: a group whose content exceeds one batch used to go through one statement per
    step that deleted every kind of every account of the group and returned each deleted row
    to count it per account, with every account's progress rewritten each step: ten times
    slower than a plain DELETE, and seconds under the group's locks. Now the accounts go in
    turn: each DELETE is one kind of one account, counted by its row count (no RETURNING), a
    step deletes at most a batch of each kind, the accounts it empties are purged in that same
    step, and only the account it stopped at keeps a progress record. No step counts what is
    left; every receipt and event is still exact, one per account."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    accounts = [with_content(inactive_account(), contacts=4) for _ in range(5)]
    ids = [a.pk for a in accounts]
    as_of = CANCELLED_AT + timedelta(days=130)
    batch = 6  # an account and a half of contacts per step

    steps, purged_while_more = [], []
    more = True
    while more:
        before = Contact.objects.filter(account_id__in=ids).count()
        with CaptureQueriesContext(connection) as captured:
            step = accounts_purge_step(account_ids=ids, by=JOB, now=as_of, run="r", batch=batch)
        more = step.more
        assert_foreign_keys_hold()
        assert before - Contact.objects.filter(account_id__in=ids).count() <= batch
        if more:
            purged_while_more.append(len(step.purged))
            assert PurgeProgress.objects.filter(account_id__in=ids).count() <= 1
        steps.append([q["sql"] for q in captured.captured_queries])
        assert len(steps) <= 10

    if connection.vendor == "postgresql":
        deletes = [sql for queries in steps for sql in queries if sql.startswith("DELETE")]
        content = [sql for sql in deletes if "accounts_" in sql.split(" WHERE ")[0]]
        assert content and not any("RETURNING" in sql for sql in content)
        # each DELETE is one account's rows of one kind (by their address, or for contacts a
        # range of ids after the last batch), or (when the group fits in a batch) a plain
        # DELETE of one kind
        assert all(
            "ctid = ANY(ARRAY(" in sql or "= ANY(" in sql or " AND id > " in sql for sql in content
        )
        # accounts are finished as the steps go, not all at the end
        assert sum(purged_while_more) >= 3
        # no step after the first counts anything of the accounts' content
        later = [sql for queries in steps[1:] for sql in queries if "COUNT(" in sql.upper()]
        assert not [sql for sql in later if "accounts_contact" in sql]
    receipts = {r.account_id: r.counts for r in PurgeReceipt.objects.filter(account_id__in=ids)}
    assert set(receipts) == set(ids)
    assert all(c["contacts"] == 4 and c["campaign_reports"] == 2 for c in receipts.values())
    assert all(c["signup_forms"] == 1 and c["hosted_files"] == 1 for c in receipts.values())
    assert AccountEvent.objects.filter(account_id__in=ids, kind="purge").count() == 5
    assert not PurgeProgress.objects.filter(account_id__in=ids).exists()
    assert not Contact.objects.filter(account_id__in=ids).exists()


def test_a_group_purge_stopped_after_some_accounts_is_finished_by_the_next_run_once_R7():
    """A run that died after a step that finished some of a group's accounts and left one half
    done: the next run purges the rest, each account with one receipt and one event counting
    every row once, and the already purged ones are not purged again."""
    accounts = [with_content(inactive_account(), contacts=4) for _ in range(3)]
    ids = [a.pk for a in accounts]
    as_of = CANCELLED_AT + timedelta(days=130)

    # given a step that stopped inside the group (then the run died)
    accounts_purge_step(account_ids=ids, by=JOB, now=as_of, run="run 1", batch=6)
    assert Contact.objects.filter(account_id__in=ids).exists()
    assert_foreign_keys_hold()

    # when the next run comes
    counts = purge_inactive(as_of=as_of + timedelta(days=1), dry_run=False)

    # then
    assert counts["accounts_skipped"] == 0
    receipts = PurgeReceipt.objects.filter(account_id__in=ids)
    assert sorted(r.account_id for r in receipts) == ids
    assert all(r.counts["contacts"] == 4 and r.counts["campaigns"] == 2 for r in receipts)
    assert AccountEvent.objects.filter(account_id__in=ids, kind="purge").count() == 3
    assert not PurgeProgress.objects.exists()


@pytest.mark.postgres
def test_a_big_accounts_contacts_go_in_batches_each_after_the_last_committed_one_R7(monkeypatch):
    """Each batch of a big account's contacts starts after the last id the batch before it
    deleted (kept with the purge's progress, in the transaction of the deletes), instead of
    walking again past the index entries of every row deleted before it (a heap visit each
    until vacuum). A run that dies between steps, and a step that fails half-way (rolled back
    whole), leave a state the next run finishes: every contact deleted and counted once."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    account = with_content(inactive_account(), contacts=10)
    contacts = sorted(Contact.objects.filter(account=account).values_list("pk", flat=True))
    as_of = CANCELLED_AT + timedelta(days=130)

    # given a run that deleted two batches of contacts and then died
    for _ in range(2):
        step = account_purge_step(account_id=account.pk, by=JOB, now=as_of, run="run 1", batch=3)
        assert step.state == "more"
    assert PurgeProgress.objects.get(account=account).walked == {"contacts": contacts[5]}
    assert (
        sorted(Contact.objects.filter(account=account).values_list("pk", flat=True))
        == (contacts[6:])
    )

    # and a step that failed after its deletes: nothing of it is kept
    def fail(**kwargs):
        raise RuntimeError("worker lost")

    with monkeypatch.context() as patched:
        patched.setattr("workflows.purge.purge_progress_save", fail)
        with pytest.raises(RuntimeError):
            account_purge_step(account_id=account.pk, by=JOB, now=as_of, run="run 2", batch=3)
    assert Contact.objects.filter(account=account).count() == 4
    assert PurgeProgress.objects.get(account=account).walked == {"contacts": contacts[5]}

    # when the next step comes, it starts after the last committed batch
    with CaptureQueriesContext(connection) as captured:
        account_purge_step(account_id=account.pk, by=JOB, now=as_of, run="run 3", batch=3)
    walks = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith(("SELECT id FROM accounts_contact", "DELETE FROM accounts_contact"))
    ]
    assert len(walks) == 2 and all(f"id > {contacts[5]} " in sql for sql in walks)
    assert PurgeProgress.objects.get(account=account).walked == {"contacts": contacts[8]}

    # and the next run finishes the purge
    purge_inactive(as_of=as_of + timedelta(days=1), dry_run=False)

    # then each contact was deleted and counted once
    receipt = PurgeReceipt.objects.get(account=account)
    assert receipt.counts["contacts"] == 10 and receipt.counts["campaign_reports"] == 2
    assert receipt.counts["signup_forms"] == 1 and receipt.counts["hosted_files"] == 1
    assert not Contact.objects.filter(account=account).exists()
    assert not PurgeProgress.objects.exists()
    assert_foreign_keys_hold()


@pytest.mark.postgres
def test_the_accounts_of_a_group_that_fit_in_a_batch_go_by_one_plain_delete_per_kind_R7():
    """A group whose content exceeds a batch: its leading accounts whose content fits are
    deleted by one plain DELETE per kind for all of them (not one statement per account) and
    purged in that step; the account the batch ends in waits its turn with what is left of the
    batch, and those after it for the next steps. Every receipt is exact, one per account."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    accounts = [with_content(inactive_account(), contacts=2) for _ in range(6)]
    ids = [a.pk for a in accounts]
    as_of = CANCELLED_AT + timedelta(days=130)

    # two reports, two campaigns and two contacts each: four accounts and a half per batch
    with CaptureQueriesContext(connection) as captured:
        step = accounts_purge_step(account_ids=ids, by=JOB, now=as_of, run="r", batch=9)

    assert set(step.purged) == set(ids[:4]) and step.more
    contact_deletes = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith("DELETE FROM accounts_contact")
    ]
    assert len(contact_deletes) == 2
    assert contact_deletes[0].startswith("DELETE FROM accounts_contact WHERE account_id = ANY(")
    assert all(str(pk) in contact_deletes[0] for pk in ids[:4])
    assert Contact.objects.filter(account_id=ids[4]).count() == 1
    assert_foreign_keys_hold()

    purge_inactive(as_of=as_of, dry_run=False)

    receipts = {r.account_id: r.counts for r in PurgeReceipt.objects.filter(account_id__in=ids)}
    assert set(receipts) == set(ids)
    assert all(c["contacts"] == 2 and c["campaign_reports"] == 2 for c in receipts.values())
    assert all(c["signup_forms"] == 1 and c["hosted_files"] == 1 for c in receipts.values())
    assert AccountEvent.objects.filter(account_id__in=ids, kind="purge").count() == 6
    assert not Contact.objects.filter(account_id__in=ids).exists()
    assert not PurgeProgress.objects.exists()


@pytest.mark.postgres
def test_a_group_step_of_small_accounts_takes_the_same_few_statements_whatever_their_size_R7():
    """Issue 17: a step of small accounts (the common case, a hundred accounts a transaction)
    spent nearly as much on its fixed statements as on its deletes: a count statement per kind
    of content whether the accounts had any or not, a re-check of their retention apart from
    the lock, a second locked read of the accounts for their move, and a savepoint around it.
    Now a step is: the accounts' zones, one locked read that re-checks that each is still due,
    their progress, one count of every kind, one DELETE per kind they have, the receipts, the
    move and its events: as many statements for two accounts of one contact as for five of
    twenty, and every receipt exact."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    as_of = CANCELLED_AT + timedelta(days=130)

    def statements_of_a_step(accounts: int, contacts: int) -> list[str]:
        group = [inactive_account() for _ in range(accounts)]
        for account in group:
            ContactFactory.create_batch(contacts, account=account)
        ids = [a.pk for a in group]
        with CaptureQueriesContext(connection) as captured:
            step = accounts_purge_step(account_ids=ids, by=JOB, now=as_of, run="r")
        assert set(step.purged) == set(ids) and not step.more
        receipts = PurgeReceipt.objects.filter(account_id__in=ids)
        assert sorted(r.account_id for r in receipts) == ids
        assert all(r.counts["contacts"] == contacts for r in receipts)
        assert AccountEvent.objects.filter(account_id__in=ids, kind="purge").count() == accounts
        # The test's own transaction makes the step's a savepoint: not the step's statements.
        return [
            q["sql"]
            for q in captured.captured_queries
            if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
        ]

    small, larger = statements_of_a_step(2, 1), statements_of_a_step(5, 20)

    # 8, and the two that turn sequential scans off and on again around the DELETEs
    assert len(small) == len(larger) <= 10, "\n".join(larger)
    # one statement counts every kind, one deletes the contacts (the only kind they have)
    counts = [sql for sql in larger if "COUNT(" in sql.upper()]
    assert len(counts) == 1 and "accounts_contact" in counts[0]
    assert [sql for sql in larger if sql.startswith("DELETE")] == [
        sql for sql in larger if sql.startswith("DELETE FROM accounts_contact")
    ]
    # the accounts are read (and locked) once
    assert len([sql for sql in larger if "FOR UPDATE" in sql]) == 1
