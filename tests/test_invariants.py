"""`check_invariants`: every rule that must hold after any crash, checked over the whole
database in bounded batches, each violation printed with its ids, a non-zero exit on any.

Each test builds the state a torn write used to leave (an effect without its record, written
here the way the old two-statement code left it) and checks the checker names it."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings
from django.utils import timezone, translation

from accounts.models import (
    Account,
    AccountEvent,
    AccountStatus,
    CancellationRequest,
    Contact,
    HostedFile,
)
from accounts.services import account_event_record, account_expire_trial
from backoffice.invariants import INVARIANTS, invariants_check
from backoffice.models import StateSnapshot
from billing.models import AccountAddOn, BillingProfile, CardChargeAttempt, EntryKind, LedgerEntry
from compliance.models import PurgeReceipt, Suppression, SuppressionImport
from core.actors import Actor
from jobs.models import JobBatch, JobRun
from tests import processes
from tests.accounts.factories import CancellationRequestFactory, HostedFileFactory
from tests.billing.factories import AddOnFactory, BillingProfileFactory, CardFactory
from tests.billing.helpers import run_billing
from tests.factories import AccountFactory
from tests.histories import histories
from workflows.payments import payment_record

pytestmark = pytest.mark.django_db
S = AccountStatus
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
JOB = Actor.system("test_job")


def violations(name: str | None = None, *, batch: int = 20_000) -> list[str]:
    found = []
    for _, checked in invariants_check(now=NOW, only=[name] if name else None, batch=batch):
        found += [str(v) for v in checked]
    return found


def account(status: str = S.ACTIVE, **fields) -> Account:
    """An account with the timeline its state implies."""
    if status in (S.CANCELLED, S.EXPIRED, S.PURGED):
        fields.setdefault("inactive_since", NOW - timedelta(days=10))
    created = AccountFactory(status=status, **fields)
    histories([created])
    return created


def test_every_invariant_is_checked_and_a_clean_database_has_no_violation():
    account(S.ACTIVE)
    account(S.CANCELLED)
    account(S.TRIAL)

    assert violations() == []
    assert set(INVARIANTS) >= {
        "status_history",
        "confirmation_events",
        "billing_gateway",
        "purged_accounts",
        "import_counts",
        "job_batches",
    }


def test_the_demo_data_keeps_every_invariant():
    call_command("seed_demo", accounts=120, stdout=io.StringIO())

    out, err = io.StringIO(), io.StringIO()
    call_command("check_invariants", stdout=out, stderr=err)

    assert out.getvalue() == ""
    assert "every invariant holds: 0 violation(s)" in err.getvalue()


# --- Each rule, broken the way a torn write broke it ---------------------------------------


def test_a_confirmation_recorded_sent_without_its_event_is_reported_with_its_ids_R4():
    # given a request marked sent by a worker that died before writing the event
    request = CancellationRequestFactory(account=account(S.CANCELLED), at=NOW)
    CancellationRequest.objects.filter(pk=request.pk).update(confirmation_sent_at=NOW)

    # when the invariants are checked from the command line
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 violation"):
        call_command("check_invariants", stdout=out, stderr=io.StringIO())

    # then the violation names the account and the request
    assert out.getvalue().splitlines() == [
        f"confirmation_events: account {request.account_id}, requests #{request.pk}: "
        "1 confirmation(s) recorded sent, 0 confirmation_sent event(s)"
    ]


def test_a_second_event_for_one_confirmation_is_reported_R4():
    request = CancellationRequestFactory(account=account(S.CANCELLED), at=NOW)
    CancellationRequest.objects.filter(pk=request.pk).update(confirmation_sent_at=NOW)
    for _ in range(2):
        account_event_record(
            account=request.account, kind="confirmation_sent", by=JOB, now=NOW, reason="sent"
        )

    assert violations("confirmation_events") == [
        f"confirmation_events: account {request.account_id}, requests #{request.pk}: "
        "1 confirmation(s) recorded sent, 2 confirmation_sent event(s)"
    ]


def test_a_status_changed_without_its_event_is_reported_R12():
    moved = account(S.TRIAL, trial_ends_at=NOW - timedelta(days=1))
    account_expire_trial(account=moved, by=JOB, now=NOW, reason="trial ended")
    assert violations("status_history") == []
    # the status written, the event lost
    Account.objects.filter(pk=moved.pk).update(status=S.ACTIVE, inactive_since=None)

    assert violations("status_history") == [
        f"status_history: account {moved.pk}: status is active, but its last status event "
        f"#{AccountEvent.objects.filter(account=moved).latest('id').pk} says expired"
    ]


def test_an_account_moved_without_any_event_and_a_broken_chain_are_reported_R12():
    silent = AccountFactory(status=S.PAUSED)
    skipped = account(S.ACTIVE)
    # an event from a state the account was never in: a move in between lost its event
    jump = AccountEvent.objects.create(
        account=skipped,
        at=NOW,
        kind="resume",
        from_status=S.PAUSED,
        to_status=S.ACTIVE,
        by_job="test",
    )

    found = violations("status_history")

    assert (
        f"status_history: account {silent.pk}: status is paused, but it has no status event "
        "(it never left its trial)"
    ) in found
    assert any(
        f"event #{jump.pk} moves the account from paused, but the event before it left it "
        "active" in line
        for line in found
    )
    assert len(found) == 2


def test_the_demo_and_its_check_speak_the_operators_language_german():
    """Commands speak settings.LANGUAGE_CODE (README "Management commands"): with German,
    seed_demo's summary of each app and check_invariants' verdicts are German; counts,
    usernames and ids stay as they are."""
    out = io.StringIO()
    with override_settings(LANGUAGE_CODE="de"):
        call_command("seed_demo", accounts=120, stdout=out)
        err = io.StringIO()
        call_command("check_invariants", stdout=io.StringIO(), stderr=err)
    seeded = out.getvalue()

    assert "Demodaten: accounts: 120 Konten," in seeded
    assert "Tarife" in seeded and "Abrechnungsprofile" in seeded
    assert "CSV-Importe (" in seeded and "Freigaben: " in seeded
    assert "der Löschlauf der letzten Nacht" in seeded
    assert "Monate Zählungen der Zustände" in seeded
    for english in ("accounts, ", "ledger entries", "CSV imports", "sign-offs", "months of"):
        assert english not in seeded
    assert "jede Invariante gilt: 0 Verstoß/Verstöße" in err.getvalue()


def test_violations_read_german_to_a_german_operator_R6_R7():
    """Each violation's problem is in the operator's language; its name and ids are not."""
    no_clock = account(S.CANCELLED)
    Account.objects.filter(pk=no_clock.pk).update(inactive_since=None)
    purged = account(S.PURGED)
    Contact.objects.create(account=purged, email="left@example.com")
    out, err = io.StringIO(), io.StringIO()

    with translation.override("de"), pytest.raises(CommandError) as failed:
        call_command(
            "check_invariants",
            only=["inactive_since", "purged_accounts"],
            as_of=NOW.isoformat(),
            stdout=out,
            stderr=err,
        )

    assert out.getvalue().splitlines() == [
        f"inactive_since: account {no_clock.pk}: cancelled, aber ohne „inaktiv seit“",
        f"purged_accounts: account {purged.pk}: gelöscht, aber 0 Löschbelege statt einem, "
        "1 Kontakte übrig",
    ]
    assert "inactive_since (R7): 1 Verstoß/Verstöße in" in err.getvalue()
    assert str(failed.value).startswith("2 Verstoß/Verstöße in")


def test_inactive_since_and_closed_content_follow_the_status_R6_R7():
    no_clock = account(S.CANCELLED)
    Account.objects.filter(pk=no_clock.pk).update(inactive_since=None)
    online = account(S.EXPIRED)
    HostedFileFactory(account=online, online=True)

    assert violations("inactive_since") == [
        f"inactive_since: account {no_clock.pk}: cancelled, but has no inactive since"
    ]
    assert violations("closed_content_offline") == [
        f"closed_content_offline: account {online.pk}: expired, but 1 hosted file(s) online "
        "and 0 integration(s) connected"
    ]


def test_a_suspension_without_billings_record_and_a_notice_without_its_event_are_reported_R11():
    unrecorded = account(S.SUSPENDED)
    BillingProfileFactory(account=unrecorded)
    noticed = account(S.SUSPENDED)
    profile = BillingProfileFactory(account=noticed, suspended_at=NOW, notice_sent_at=NOW)

    assert violations("suspension_recorded") == [
        f"suspension_recorded: account {unrecorded.pk}: suspended, but billing has no "
        "suspension for non-payment recorded",
        f"suspension_recorded: account {noticed.pk}, billing profile {profile.pk}: its "
        "suspension notice is recorded sent, but no suspension_notice event says so",
    ]


def test_a_cancelled_account_whose_billing_was_not_closed_is_reported_R5_R6():
    closed = account(S.CANCELLED)
    profile = BillingProfileFactory(account=closed, prepaid_balance=Decimal("12.00"))
    AccountAddOn.objects.create(account=closed, addon=AddOnFactory(), started_at=NOW)

    assert violations("billing_closed") == [
        f"billing_closed: account {closed.pk}, billing profile {profile.pk}: cancelled, but "
        "billing was not closed, prepaid balance 12.00 left, 1 add-on(s) active"
    ]


def test_a_purged_account_with_content_left_or_no_receipt_is_reported_R7():
    purged = account(S.PURGED)
    Contact.objects.create(account=purged, email="left@example.com")
    active = account(S.ACTIVE)
    receipt = PurgeReceipt.objects.create(
        account=active,
        at=NOW,
        started_at=NOW,
        inactive_since=NOW,
        counts={},
        by_job="purge_inactive",
    )

    assert violations("purged_accounts") == [
        f"purged_accounts: account {purged.pk}: purged, but 0 purge receipts instead of one, "
        "1 contacts left",
        f"purged_accounts: account {active.pk}, purge receipt #{receipt.pk}: a purge receipt, "
        "but the account is active",
    ]


def suppressions(owner, record, count):
    Suppression.objects.bulk_create(
        Suppression(
            account=owner,
            address=f"p{n}@example.com",
            normalised=f"p{n}@example.com",
            source="import",
            reason="u",
            at=NOW,
            imported_in=record,
        )
        for n in range(count)
    )


def test_an_import_whose_counts_differ_from_the_rows_it_wrote_is_reported_R9():
    owner = account(S.ACTIVE)
    done = SuppressionImport.objects.create(
        account=owner,
        file_name="list.csv",
        created_at=NOW,
        status="done",
        counts={"added": 3, "written": 3},
        by_job="test",
    )
    suppressions(owner, done, 2)
    half = SuppressionImport.objects.create(
        account=owner, file_name="half.csv", created_at=NOW, status="importing", by_job="test"
    )
    suppressions(owner, half, 1)

    assert violations("import_counts") == [
        f"import_counts: account {owner.pk}, suppression import #{done.pk}: its counts say 3 "
        "row(s) written, the suppressions show 2",
        f"import_counts: account {owner.pk}, suppression import #{half.pk}: importing, but it "
        "wrote 1 suppression(s)",
    ]


def test_an_abandoned_batch_and_a_run_left_open_are_reported(settings):
    settings.JOB_BATCH_LEASE, settings.JOB_REDISPATCH_AFTER = 120, 900
    now = timezone.now()
    long_ago = now - timedelta(hours=1)
    abandoned = JobRun.objects.create(
        job="expire_trials", as_of=long_ago, trigger="schedule", started_at=long_ago
    )
    batch = JobBatch.objects.create(
        run=abandoned,
        number=1,
        state="running",
        started_at=long_ago,
        heartbeat_at=long_ago,
        dispatched_at=long_ago,
    )
    open_run = JobRun.objects.create(
        job="purge_inactive", as_of=long_ago, trigger="schedule", started_at=long_ago
    )
    JobBatch.objects.create(run=open_run, number=1, state="done", finished_at=long_ago)
    # and a batch alive now is not reported
    alive = JobRun.objects.create(job="run_billing", as_of=now, trigger="schedule", started_at=now)
    JobBatch.objects.create(run=alive, number=1, state="running", heartbeat_at=now, started_at=now)

    found = []
    for _, checked in invariants_check(now=now, only=["job_batches"]):
        found += [str(v) for v in checked]

    assert len(found) == 2
    assert found[0].startswith(
        f"job_batches: job run #{abandoned.pk} (expire_trials), batch #{batch.pk}: running since"
    )
    assert found[1] == (
        f"job_batches: job run #{open_run.pk} (purge_inactive): running, but none of its "
        "batches is; the sweep has not closed it"
    )


def test_a_month_snapshot_missing_states_is_reported():
    for status in (S.ACTIVE, S.TRIAL):
        StateSnapshot.objects.create(
            month=date(2026, 10, 1), status=status, accounts=1, taken_at=NOW
        )

    assert violations("state_snapshots") == [
        f"state_snapshots: month 2026-10: 2 of {len(S.values)} states counted"
    ]


def test_a_gateway_success_without_its_ledger_rows_and_a_payment_without_a_charge_are_reported():
    """The billing rules as the billing run's data model has them (CardChargeAttempt,
    LedgerEntry): each success has its card payment and its period's entry, each card payment
    its success, each charge its payment."""
    paid = account(S.ACTIVE)
    BillingProfileFactory(account=paid)
    attempt = CardChargeAttempt.objects.create(
        account=paid,
        at=NOW,
        purpose="charge",
        period=date(2026, 11, 1),
        amount=Decimal("45.00"),
        currency="USD",
        idempotency_key="charge:x:2026-11-01:0",
        outcome="succeeded",
        gateway_reference="ch_test_lost",
        by_job="run_billing",
    )
    payment = LedgerEntry.objects.create(
        account=paid,
        at=NOW,
        kind=EntryKind.CARD_PAYMENT,
        amount=Decimal("45.00"),
        currency="USD",
        reference="ch_test_never",
        by_job="run_billing",
    )
    charge = LedgerEntry.objects.create(
        account=paid,
        at=NOW,
        kind=EntryKind.CHARGE,
        amount=Decimal("45.00"),
        currency="USD",
        period=date(2026, 10, 1),
        by_job="run_billing",
    )

    found = violations("billing_gateway")

    assert found == [
        f"billing_gateway: account {paid.pk}, charge attempt #{attempt.pk} (ch_test_lost): the "
        "gateway charged the card (charge), but the ledger has 0 card payment(s) and 0 charge "
        "entr(y/ies) for it instead of one each",
        f"billing_gateway: account {paid.pk}, ledger entry #{payment.pk} (ch_test_never): a card "
        "payment, but 0 gateway success(es) for it instead of one",
        f"billing_gateway: account {paid.pk}, ledger entry #{charge.pk} (no reference): a "
        "charge paid neither by a card payment nor by a recorded payment",
    ]


def test_billing_as_the_run_writes_it_keeps_the_billing_rules():
    """A charge, a decline, a prepaid month and a recorded payment, all written by the
    services: nothing to report."""
    charged = account(S.ACTIVE)
    BillingProfileFactory(account=charged, next_billing_date=date(2026, 11, 1))
    CardFactory(account=charged)
    declined = account(S.ACTIVE)
    BillingProfileFactory(account=declined, next_billing_date=date(2026, 11, 1))
    CardFactory(account=declined, token="tok_decline")
    run_billing(NOW)
    payment_record(
        account=declined,
        amount="45.00",
        currency="USD",
        by=JOB,
        now=NOW + timedelta(hours=1),
        reference="bank 42",
    )

    assert LedgerEntry.objects.filter(kind=EntryKind.CHARGE).count() == 2
    assert violations() == []


# --- Bounded batches -----------------------------------------------------------------------


def test_violations_in_every_batch_are_found_when_the_accounts_are_walked_in_small_batches():
    broken = []
    for _ in range(7):
        request = CancellationRequestFactory(account=account(S.CANCELLED), at=NOW)
        CancellationRequest.objects.filter(pk=request.pk).update(confirmation_sent_at=NOW)
        broken.append(request.account_id)

    found = violations("confirmation_events", batch=2)

    assert [int(line.split("account ")[1].split(",")[0]) for line in found] == sorted(broken)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_command_exits_non_zero_and_prints_each_violation():
    request = CancellationRequestFactory(account=account(S.CANCELLED), at=NOW)
    CancellationRequest.objects.filter(pk=request.pk).update(confirmation_sent_at=NOW)

    result = subprocess.run(
        [sys.executable, "manage.py", "check_invariants"],
        cwd=processes.ROOT,
        env=processes.process_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 1
    assert f"confirmation_events: account {request.account_id}" in result.stdout
    assert "confirmation_events (R4, R12): 1 violation(s)" in result.stderr


def test_a_batch_size_below_one_is_refused_clearly():
    with pytest.raises(CommandError, match="--batch must be a positive number"):
        call_command("check_invariants", batch=0)


def test_the_profile_of_an_unsuspended_account_is_not_required():
    """Billing records a suspension only for non-payment; a profile never suspended has
    nothing to say about an active account."""
    BillingProfileFactory(account=account(S.ACTIVE))
    assert BillingProfile.objects.count() == 1
    assert violations("suspension_recorded") == []


def test_hosted_files_of_open_accounts_may_be_online():
    HostedFileFactory(account=account(S.ACTIVE), online=True)
    assert HostedFile.objects.filter(online=True).exists()
    assert violations("closed_content_offline") == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_move_committed_while_a_batch_is_read_raises_no_false_alarm():
    """The check runs while jobs and staff work: a move (its status and its event, one
    transaction) committed between a batch's two reads is seen by both or by neither."""
    moving = account(S.ACTIVE)
    moved = []

    def move_between_the_reads(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if "FROM accounts_accountevent" in sql and not moved:
            with psycopg.connect(processes.test_database_url()) as other:
                other.execute(
                    "UPDATE accounts_account SET status = 'paused' WHERE id = %s", [moving.pk]
                )
                other.execute(
                    "INSERT INTO accounts_accountevent (account_id, at, kind, from_status, "
                    "to_status, reason, by_job) VALUES (%s, now(), 'pause', 'active', 'paused', "
                    "'paused meanwhile', 'test')",
                    [moving.pk],
                )
            moved.append(moving.pk)
        return result

    with connection.execute_wrapper(move_between_the_reads):
        during = violations("status_history")

    assert moved == [moving.pk]
    assert during == []
    assert violations("status_history") == []
