"""Jobs spread over real Celery worker processes on Redis and PostgreSQL, and faults survived.

Workers here consume a queue of the test's own and run with a short broker visibility timeout
and batch lease, so that a killed worker's task comes back within seconds instead of the
production 15 minutes (README, "Operations")."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db.models import Count
from django.utils import timezone

from accounts.models import (
    Account,
    AccountEvent,
    AccountStatus,
    CancellationOutcome,
    CancellationRequest,
    Contact,
)
from billing.models import BillingMode, BillingProfile, Card, EntryKind, LedgerEntry, Plan
from compliance.models import PurgeReceipt, Suppression, SuppressionReason, SuppressionSource
from jobs.models import JobBatch, JobRun
from tests.accounts.factories import CancellationReasonFactory
from tests.accounts.smtp import Recorder, SMTPServer
from tests.jobs.gateway import charged_keys

pytestmark = [
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
S = AccountStatus
PERIOD = date(2026, 12, 1)
BILLED_AS_OF = datetime(2026, 12, 1, 12, tzinfo=UTC)


def assert_taken_up_again(run: JobRun, killed: set[int]) -> None:
    """The killed worker's batches were claimed again (redelivered) and finished."""
    for batch in JobBatch.objects.filter(pk__in=killed):
        assert (batch.state, batch.attempts >= 2) == ("done", True), batch
    assert not JobBatch.objects.filter(run=run).exclude(state="done").exists()


# --- run_billing ---------------------------------------------------------------------------


def monthly_accounts_due(count: int) -> list[int]:
    """`count` active monthly accounts with a valid card, due on PERIOD (UTC)."""
    plan = Plan.objects.create(
        code="growth-w", name="Growth", monthly_price=Decimal("45.00"), currency="USD"
    )
    created = datetime(2026, 1, 1, tzinfo=UTC)
    due_at = datetime(PERIOD.year, PERIOD.month, PERIOD.day, tzinfo=UTC)
    ids = []
    for start_at in range(0, count, 10_000):
        accounts = Account.objects.bulk_create(
            Account(
                username=f"monthly-{i:06d}",
                primary_email=f"monthly-{i:06d}@example.com",
                status=S.ACTIVE,
                created_at=created,
            )
            for i in range(start_at, min(start_at + 10_000, count))
        )
        BillingProfile.objects.bulk_create(
            BillingProfile(
                account=a,
                plan=plan,
                mode=BillingMode.MONTHLY_CARD,
                anchor_day=1,
                next_billing_date=PERIOD,
                due_at=due_at,
            )
            for a in accounts
        )
        Card.objects.bulk_create(
            Card(
                account=a,
                token="tok_ok_workers",
                brand="Visa",
                last4="1111",
                exp_month=12,
                exp_year=2099,
                added_at=created,
            )
            for a in accounts
        )
        ids += [a.pk for a in accounts]
    return ids


def assert_each_charged_exactly_once(ids: list[int], charges_file) -> None:
    """R3: one charge per account for the period in the ledger, and one idempotency key per
    account at the gateway (a repeated call after a crash repeats the key, which a gateway
    answers with the first charge)."""
    charged = (
        LedgerEntry.objects.filter(kind=EntryKind.CHARGE, period=PERIOD)
        .values("account")
        .annotate(n=Count("id"))
    )
    assert charged.count() == len(ids)
    assert not charged.filter(n__gt=1).exists()
    keys = set(charged_keys(charges_file))
    accounts_at_gateway = {int(key.split(":")[1]) for key in keys}
    assert len(keys) == len(accounts_at_gateway) == len(ids)
    assert accounts_at_gateway == set(ids)


def test_two_workers_share_a_run_billing_of_100000_accounts_each_charged_once_R3(cluster, tmp_path):
    ids = monthly_accounts_due(100_000)
    cluster.ready(cluster.worker("one"), cluster.worker("two"))

    run = cluster.start_run("run_billing", BILLED_AS_OF)
    finished = cluster.finished(run, timeout=400)

    assert finished.outcome == "succeeded", finished.error
    assert finished.batches == 50
    assert finished.counts["charged"] == 100_000
    assert_each_charged_exactly_once(ids, tmp_path / "charges")
    # both workers took their share
    by_worker = dict(JobBatch.objects.filter(run=run).values_list("worker").annotate(n=Count("id")))
    assert len(by_worker) == 2 and min(by_worker.values()) >= 5, by_worker


def test_a_worker_killed_mid_run_billing_leaves_every_account_charged_once_R3(cluster, tmp_path):
    ids = monthly_accounts_due(6_000)
    # a gateway round trip of 1 ms: a batch of 2,000 takes a few seconds, long enough to kill
    first = cluster.worker("first", RECORDING_GATEWAY_DELAY="0.001")
    run = cluster.start_run("run_billing", BILLED_AS_OF)

    killed = cluster.kill_in_the_middle(run, first)
    cluster.worker("second")
    finished = cluster.finished(run, timeout=180)

    assert finished.outcome == "succeeded", finished.error
    assert_taken_up_again(run, killed)
    assert_each_charged_exactly_once(ids, tmp_path / "charges")


# --- send_confirmations --------------------------------------------------------------------


def cancellation_requests(count: int) -> list[int]:
    reason = CancellationReasonFactory(name="Too expensive")
    at = timezone.now() - timedelta(hours=1)
    accounts = Account.objects.bulk_create(
        Account(
            username=f"leaving-{i:05d}",
            primary_email=f"leaving-{i:05d}@example.com",
            status=S.CANCELLED,
            inactive_since=at,
            created_at=at - timedelta(days=300),
        )
        for i in range(count)
    )
    requests = CancellationRequest.objects.bulk_create(
        CancellationRequest(
            account=a, at=at, reason=reason, voluntary=True, outcome=CancellationOutcome.CANCELLED
        )
        for a in accounts
    )
    return [r.pk for r in requests]


def test_a_worker_killed_mid_send_confirmations_sends_each_confirmation_once_R4(cluster, settings):
    ids = cancellation_requests(1_000)
    # five batches of a few seconds each (the run is planned in this process)
    settings.JOB_BATCH_SIZES = {"send_confirmations": 200}
    recorder = Recorder(delay=0.003)
    with SMTPServer(recorder) as smtp:
        mail = {"EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}"}
        sizes = {"JOB_BATCH_SIZES": "send_confirmations=200"}
        first = cluster.worker("first", **mail, **sizes)
        run = cluster.start_run("send_confirmations", timezone.now())

        killed = cluster.kill_in_the_middle(run, first)
        cluster.worker("second", **mail, **sizes)
        finished = cluster.finished(run, timeout=180)

    assert finished.outcome == "succeeded", finished.error
    assert_taken_up_again(run, killed)
    # recorded once each (R4): sent, and one timeline event per request
    assert not CancellationRequest.objects.filter(confirmation_sent_at__isnull=True).exists()
    events = AccountEvent.objects.filter(kind="confirmation_sent")
    assert events.count() == events.values("account").distinct().count() == len(ids)
    # and received by the mail server: every request, and a second copy only of the one
    # message the killed worker may have had accepted without recording it (same Message-ID,
    # so mail clients show one)
    received = [
        int(re.search(r"cancellation-request-(\d+)@", m["Message-ID"]).group(1))
        for m in recorder.messages
    ]
    assert set(received) == set(ids)
    assert len(received) - len(set(received)) <= 1


# --- purge_inactive ------------------------------------------------------------------------


def inactive_accounts(count: int, *, contacts: int) -> list[int]:
    gone = timezone.now() - timedelta(days=200)
    accounts = Account.objects.bulk_create(
        Account(
            username=f"gone-{i:05d}",
            primary_email=f"gone-{i:05d}@example.com",
            status=S.CANCELLED,
            inactive_since=gone,
            created_at=gone - timedelta(days=400),
        )
        for i in range(count)
    )
    Contact.objects.bulk_create(
        (
            Contact(account=a, email=f"c{n}-{a.pk}@example.net")
            for a in accounts
            for n in range(contacts)
        ),
        batch_size=10_000,
    )
    Suppression.objects.bulk_create(
        Suppression(
            account=a,
            address=f"c0-{a.pk}@example.net",
            normalised=f"c0-{a.pk}@example.net",
            source=SuppressionSource.UNSUBSCRIBE_LINK,
            reason=SuppressionReason.UNSUBSCRIBE,
            at=gone,
        )
        for a in accounts
    )
    return [a.pk for a in accounts]


def test_a_worker_killed_mid_purge_purges_each_account_once_and_keeps_every_suppression_R7_R9(
    cluster, settings
):
    ids = inactive_accounts(1_500, contacts=240)
    settings.JOB_BATCH_SIZES = {"purge_inactive": 300}
    # five batches of 72,000 contacts, about half a second each (the purge deletes some 140,000
    # contacts a second here): a batch stays mid-run long enough to be caught and killed
    sizes = {"JOB_BATCH_SIZES": "purge_inactive=300"}
    first = cluster.worker("first", **sizes)
    run = cluster.start_run("purge_inactive", timezone.now())

    killed = cluster.kill_in_the_middle(run, first)
    cluster.worker("second", **sizes)
    finished = cluster.finished(run, timeout=180)

    assert finished.outcome == "succeeded", finished.error
    assert_taken_up_again(run, killed)
    assert Account.objects.filter(pk__in=ids, status=S.PURGED).count() == len(ids)
    assert not Contact.objects.filter(account_id__in=ids).exists()
    # one receipt and one purge event each, counting every contact once (R7, R12)
    receipts = PurgeReceipt.objects.filter(account_id__in=ids)
    assert receipts.count() == receipts.values("account").distinct().count() == len(ids)
    assert sum(r.counts["contacts"] for r in receipts) == len(ids) * 240
    events = AccountEvent.objects.filter(kind="purge", account_id__in=ids)
    assert events.count() == len(ids)
    # no suppression lost (R9)
    assert Suppression.objects.filter(account_id__in=ids).count() == len(ids)
