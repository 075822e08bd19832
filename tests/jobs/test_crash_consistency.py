"""Kill anywhere, check everything: real Celery workers run every job over real data while they
are killed with SIGKILL at random moments and at random SQL statements, and their database
connections are dropped at random statements; then the sweep and the next runs finish the
work, `check_invariants` finds nothing, and every effect happened exactly once.

The plan of faults comes from one seed: the data, each worker's fault plan (tests.jobs.faults:
the statement it dies at, the statements whose connection drops), and the moments the test
kills a worker or drops a connection itself. CI runs one seed for a bounded time; the soak
(`python -m bench.soak`) runs many, longer, printing each seed. Replay one with

    FAULT_SEED=<seed> [FAULT_SCALE=<n>] [FAULT_CHAOS_SECONDS=<s>] \\
        python3 dev.py test tests/jobs/test_crash_consistency.py

A replay runs the same plan; the instants the faults land on depend on the scheduler, so the
interleaving is close to, not identical with, the failing one.

Exactly once, for the effects that leave our system: a charge at the gateway is repeated only
with its idempotency key (the gateway answers with the first charge); an email the mail
server accepted just before its sender died, before the send was recorded, goes out again
(README, Operations): so each confirmation and notice is received at least once, and the
copies are at most one per fault.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from django.db import connection
from django.db.models import Count
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from accounts.models import (
    Account,
    AccountEvent,
    AccountStatus,
    CancellationOutcome,
    CancellationRequest,
    Contact,
)
from backoffice.invariants import invariants_check
from backoffice.models import StateSnapshot
from billing.models import (
    BillingMode,
    BillingProfile,
    Card,
    CardChargeAttempt,
    EntryKind,
    LedgerEntry,
    Plan,
)
from compliance.models import PurgeReceipt, Suppression, SuppressionReason, SuppressionSource
from jobs.models import JobRun
from jobs.registry import get_job
from jobs.services import jobs_sweep
from tests import processes
from tests.accounts.factories import CancellationReasonFactory
from tests.accounts.smtp import Recorder, SMTPServer
from tests.histories import histories
from tests.jobs.gateway import charged_keys

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
S = AccountStatus

SEED = int(os.environ.get("FAULT_SEED") or 20261125)
# Data per kind of work, times the scale; CI runs scale 1 (a few hundred items per job).
SCALE = int(os.environ.get("FAULT_SCALE") or 1)
# How long faults are injected before the workers are left alone to finish.
CHAOS_SECONDS = float(os.environ.get("FAULT_CHAOS_SECONDS") or 45)
# Due items per batch: small, so that every job is many batches, each a place to die in.
BATCH_SIZES = {
    "expire_trials": 60,
    "run_billing": 80,
    "suspend_unpaid": 30,
    "cancel_unpaid": 15,
    "send_confirmations": 40,
    "purge_inactive": 25,
}
# In the order one job's effects make work for the next.
JOBS = [
    "expire_trials",
    "run_billing",
    "suspend_unpaid",
    "cancel_unpaid",
    "send_confirmations",
    "purge_inactive",
    "snapshot_states",
]
PERIOD = date(2026, 12, 1)
T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)
# The rounds of runs under faults are a minute apart in the scenario's time, the last ones as
# of T0 + 9 minutes; the next runs come later than every claim a dead worker left (10 minutes
# after its run's moment), and sooner than a declined card's first retry (a day).
CHAOS_ROUND_MINUTES = 9
LATER = T0 + timedelta(minutes=20)
CONTACTS_PER_PURGE = 12


# --- The data: every kind of work each job does ---------------------------------------------


def seeded_data(rng: random.Random) -> dict[str, list[int]]:
    """Accounts for every job, with the timelines their states imply (so every invariant holds
    before the jobs run). Returns the account ids of each kind."""
    created = T0 - timedelta(days=400)

    def accounts(kind: str, count: int, status: str, **fields) -> list[Account]:
        made = Account.objects.bulk_create(
            Account(
                username=f"{kind}-{i:05d}",
                primary_email=f"{kind}-{i:05d}@example.com",
                status=status,
                created_at=created,
                time_zone=rng.choice(["UTC", "Europe/Berlin", "America/New_York"]),
                **fields,
            )
            for i in range(count)
        )
        histories(made)
        return made

    kinds: dict[str, list[int]] = {}
    trials = accounts("trial", 240 * SCALE, S.TRIAL, trial_ends_at=T0 - timedelta(hours=2))
    kinds["trials"] = [a.pk for a in trials]

    plan = Plan.objects.create(
        code="growth-f", name="Growth", monthly_price=Decimal("45.00"), currency="USD"
    )
    payers = accounts("payer", 400 * SCALE, S.ACTIVE)
    due_at = datetime(PERIOD.year, PERIOD.month, PERIOD.day, tzinfo=UTC)
    BillingProfile.objects.bulk_create(
        BillingProfile(
            account=a,
            plan=plan,
            mode=BillingMode.MONTHLY_CARD,
            anchor_day=1,
            next_billing_date=PERIOD,
            due_at=due_at,
        )
        for a in payers
    )
    shuffled = list(payers)
    rng.shuffle(shuffled)
    declined = shuffled[: len(payers) // 10]
    cardless = shuffled[len(payers) // 10 : len(payers) // 5]
    good = shuffled[len(payers) // 5 :]
    Card.objects.bulk_create(
        Card(
            account=a,
            token="tok_decline" if a in declined else "tok_ok_faults",
            brand="Visa",
            last4="1111",
            exp_month=12,
            exp_year=2099,
            added_at=created,
        )
        for a in [*good, *declined]
    )
    kinds["good"] = [a.pk for a in good]
    kinds["declined"] = [a.pk for a in declined]
    kinds["cardless"] = [a.pk for a in cardless]

    suspended_at = T0 - timedelta(days=100)
    unpaid = accounts("unpaid", 60 * SCALE, S.SUSPENDED)
    BillingProfile.objects.bulk_create(
        BillingProfile(
            account=a,
            plan=plan,
            mode=BillingMode.MONTHLY_CARD,
            anchor_day=1,
            next_billing_date=PERIOD - timedelta(days=100),
            unpaid_since=suspended_at,
            unpaid_reason="no card on file",
            suspended_at=suspended_at,
            notice_sent_at=suspended_at,
        )
        for a in unpaid
    )
    AccountEvent.objects.bulk_create(
        AccountEvent(
            account=a,
            at=suspended_at,
            kind="suspension_notice",
            reason="Suspension notice sent",
            by_job="suspend_unpaid",
        )
        for a in unpaid
    )
    kinds["unpaid"] = [a.pk for a in unpaid]

    leaving = accounts("leaving", 160 * SCALE, S.CANCELLED, inactive_since=T0 - timedelta(hours=1))
    reason = CancellationReasonFactory(name="Too expensive")
    CancellationRequest.objects.bulk_create(
        CancellationRequest(
            account=a,
            at=T0 - timedelta(hours=1),
            reason=reason,
            voluntary=True,
            outcome=CancellationOutcome.CANCELLED,
        )
        for a in leaving
    )
    kinds["leaving"] = [a.pk for a in leaving]

    gone = accounts("gone", 100 * SCALE, S.CANCELLED, inactive_since=T0 - timedelta(days=200))
    Contact.objects.bulk_create(
        (
            Contact(account=a, email=f"c{n}-{a.pk}@example.net")
            for a in gone
            for n in range(CONTACTS_PER_PURGE)
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
            at=T0 - timedelta(days=300),
        )
        for a in gone
    )
    kinds["gone"] = [a.pk for a in gone]
    return kinds


# --- Faults ----------------------------------------------------------------------------------


class Chaos:
    """Workers that die and lose their connections, as the seed plans it, restarted like a
    process manager restarts them."""

    def __init__(self, cluster, rng: random.Random, tmp_path, env: dict[str, str]):
        self.cluster, self.rng, self.env = cluster, rng, env
        self.log = tmp_path / "faults.log"
        self.workers: dict[str, object] = {}
        self.incarnations: Counter = Counter()
        self.test_kills = self.test_drops = 0

    def plan(self) -> str:
        """A fault plan for a new worker incarnation: it dies right after a write committed on
        its own, or at a statement (most incarnations die), and drops its connection at a
        few statements."""
        plan: dict = {"log": str(self.log)}
        roll = self.rng.random()
        if roll < 0.5:
            # right after a write committed on its own: where a torn pair would show
            plan["kill_after_write"] = self.rng.randint(1, 60)
        elif roll < 0.9:
            plan["kill_at"] = self.rng.randint(20, 900)
            plan["kill_before"] = self.rng.random() < 0.3
        plan["drop_at"] = sorted(self.rng.sample(range(10, 2500), k=self.rng.randint(0, 3)))
        return json.dumps(plan)

    def start(self, name: str, *, faulty: bool) -> None:
        self.incarnations[name] += 1
        extra = {"FAULT_PLAN": self.plan()} if faulty else {}
        self.workers[name] = self.cluster.worker(
            f"{name}-{self.incarnations[name]}",
            app="tests.jobs.faults",
            pool="solo",
            **self.env,
            **extra,
        )

    def restart_dead(self, *, faulty: bool) -> None:
        for name, process in list(self.workers.items()):
            if process.poll() is not None:
                self.start(name, faulty=faulty)

    def strike(self) -> None:
        """The test's own faults: SIGKILL a worker at a random moment, or terminate one of the
        workers' database connections in the middle of whatever it is doing."""
        if self.rng.random() < 0.5:
            name = self.rng.choice(sorted(self.workers))
            process = self.workers[name]
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                self.test_kills += 1
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
                "AND state <> 'idle' ORDER BY pid"
            )
            busy = [row[0] for row in cursor.fetchall()]
        if busy:
            with psycopg.connect(processes.test_database_url(), autocommit=True) as other:
                other.execute("SELECT pg_terminate_backend(%s)", [self.rng.choice(busy)])
            self.test_drops += 1

    def faults(self) -> int:
        logged = self.log.read_text().splitlines() if self.log.exists() else []
        return len(logged) + self.test_kills + self.test_drops

    def stop_all(self) -> None:
        for process in self.workers.values():
            processes.stop(process, signal.SIGKILL)


def runs_finished(runs: list[JobRun]) -> bool:
    return not JobRun.objects.filter(pk__in=[r.pk for r in runs], outcome="running").exists()


def nothing_due(as_of: datetime) -> bool:
    return not any(
        get_job(name).due(as_of=as_of).exists() for name in JOBS if get_job(name).due is not None
    )


# --- The test --------------------------------------------------------------------------------


def test_workers_killed_anywhere_leave_every_invariant_true_and_every_effect_once(
    cluster, settings, tmp_path
):
    rng = random.Random(SEED)
    print(f"fault seed {SEED} (replay: FAULT_SEED={SEED} FAULT_SCALE={SCALE})")
    # the runs are started here, as of the scenario's moment; beat's schedules stay out of it
    PeriodicTask.objects.update(enabled=False)
    kinds = seeded_data(rng)
    assert [str(v) for _, found in invariants_check(now=T0) for v in found] == []
    settings.JOB_BATCH_SIZES = BATCH_SIZES
    sizes = ",".join(f"{name}={size}" for name, size in BATCH_SIZES.items())

    with SMTPServer(Recorder()) as smtp:
        env = {"EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}", "JOB_BATCH_SIZES": sizes}
        chaos = Chaos(cluster, rng, tmp_path, env)

        # every job runs at once on two faulty workers, struck at random moments as well; as
        # soon as a round of runs is over the next starts (a minute later in the scenario's
        # time, as beat would), until the time for faults is up
        for name in ("one", "two"):
            chaos.start(name, faulty=True)
        runs: list[JobRun] = []
        deadline, rounds = time.monotonic() + CHAOS_SECONDS, 0
        while time.monotonic() < deadline:
            if runs_finished(runs):
                as_of = T0 + timedelta(minutes=min(rounds, CHAOS_ROUND_MINUTES))
                runs += [cluster.start_run(name, as_of) for name in JOBS]
                rounds += 1
            time.sleep(rng.uniform(0.3, 2.0))
            if rng.random() < 0.5:
                chaos.strike()
            chaos.restart_dead(faulty=True)

        # then the faults stop: fresh workers, the sweep, and the next runs until nothing is due
        chaos.stop_all()
        for name in ("one", "two"):
            chaos.start(name, faulty=False)
        processes.wait_for(
            lambda: jobs_sweep(now=timezone.now()) and runs_finished(runs),
            timeout=240,
            what="the runs struck by faults to finish after the sweep",
            logs=cluster.logs,
            poll=2,
        )
        for _ in range(4):
            if nothing_due(LATER):
                break
            for name in JOBS:
                cluster.finished(cluster.start_run(name, LATER), timeout=240)
        assert nothing_due(LATER), f"work left after the next runs (seed {SEED})"
        chaos.stop_all()
    faults = chaos.faults()
    if chaos.log.exists():
        print(chaos.log.read_text())
    print(
        f"seed {SEED}: {rounds} round(s) of runs under {faults} faults ({chaos.test_kills} "
        f"kills and {chaos.test_drops} drops by the test, the rest by the workers at planned "
        "statements)"
    )

    # every invariant holds
    broken = [str(v) for _, found in invariants_check(now=timezone.now()) for v in found]
    assert broken == [], f"seed {SEED}: {len(broken)} violation(s), first: {broken[:5]}"
    assert faults > 0, f"seed {SEED}: no fault was injected; the test proved nothing"
    assert_each_effect_once(kinds, smtp.handler, tmp_path / "charges", faults)


def assert_each_effect_once(kinds, mail: Recorder, charges_file, faults: int) -> None:
    def moved_to(status: str, ids: list[int]) -> dict[int, int]:
        events = AccountEvent.objects.filter(account_id__in=ids, to_status=status)
        return dict(events.values_list("account").annotate(n=Count("id")))

    # R1: each trial expired once
    assert moved_to(S.EXPIRED, kinds["trials"]) == {pk: 1 for pk in kinds["trials"]}

    # R3: each good card charged once for the period, one idempotency key each at the gateway
    charged = LedgerEntry.objects.filter(kind=EntryKind.CHARGE, period=PERIOD)
    assert dict(charged.values_list("account").annotate(n=Count("id"))) == {
        pk: 1 for pk in kinds["good"]
    }
    keys = set(charged_keys(charges_file))
    assert {int(k.split(":")[1]) for k in keys} == {*kinds["good"], *kinds["declined"]}
    assert len(keys) == len(kinds["good"]) + len(kinds["declined"])
    # a declined card: one declined attempt, its retry scheduled, nothing charged
    declines = CardChargeAttempt.objects.filter(account_id__in=kinds["declined"])
    assert dict(declines.values_list("account").annotate(n=Count("id"))) == {
        pk: 1 for pk in kinds["declined"]
    }

    # R11: each account without a card suspended once, with one notice recorded, received
    assert moved_to(S.SUSPENDED, kinds["cardless"]) == {pk: 1 for pk in kinds["cardless"]}
    notices = AccountEvent.objects.filter(
        account_id__in=kinds["cardless"], kind="suspension_notice"
    )
    assert dict(notices.values_list("account").annotate(n=Count("id"))) == {
        pk: 1 for pk in kinds["cardless"]
    }
    received = Counter(m["To"] for m in mail.messages if "suspend" in m["Subject"].lower())
    wanted = set(
        Account.objects.filter(pk__in=kinds["cardless"]).values_list("primary_email", flat=True)
    )
    assert set(received) == wanted
    assert sum(received.values()) - len(received) <= faults

    # R11: each account unpaid past day 90 cancelled once, with one cancellation request
    assert moved_to(S.CANCELLED, kinds["unpaid"]) == {pk: 1 for pk in kinds["unpaid"]}
    requests = CancellationRequest.objects.filter(account_id__in=kinds["unpaid"])
    assert dict(requests.values_list("account").annotate(n=Count("id"))) == {
        pk: 1 for pk in kinds["unpaid"]
    }

    # R4: every request confirmed (one event each: check_invariants), received at least once
    all_requests = set(CancellationRequest.objects.values_list("pk", flat=True))
    assert not CancellationRequest.objects.filter(confirmation_sent_at__isnull=True).exists()
    confirmed = Counter(
        int(re.search(r"cancellation-request-(\d+)@", m["Message-ID"]).group(1))
        for m in mail.messages
        if m["Message-ID"] and "cancellation-request-" in m["Message-ID"]
    )
    assert set(confirmed) == all_requests
    assert sum(confirmed.values()) - len(confirmed) <= faults

    # R7, R9: each inactive account purged once, one receipt counting every contact once,
    # every suppression kept
    assert moved_to(S.PURGED, kinds["gone"]) == {pk: 1 for pk in kinds["gone"]}
    receipts = PurgeReceipt.objects.filter(account_id__in=kinds["gone"])
    assert sorted(r.account_id for r in receipts) == sorted(kinds["gone"])
    assert {r.counts["contacts"] for r in receipts} == {CONTACTS_PER_PURGE}
    assert Suppression.objects.filter(account_id__in=kinds["gone"]).count() == len(kinds["gone"])

    # the dashboard's snapshot: every state counted for the month
    assert StateSnapshot.objects.filter(month=T0.date().replace(day=1)).count() == len(S.values)
