"""Faults around the jobs: two beat processes, PostgreSQL restarted mid-job, Redis restarted
with work queued. These restart the local servers, so they run only where the test may
(PostgreSQL and Redis on this machine, started the way README and .ci/run start them)."""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connections
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from accounts.models import Account, AccountEvent, AccountStatus
from billing.services.charging import CHARGE_LEASE
from jobs.models import JobBatch, JobRun
from jobs.services import job_run_start
from tests.jobs.test_batches import trials
from tests.jobs.test_workers import (
    BILLED_AS_OF,
    assert_each_charged_exactly_once,
    monthly_accounts_due,
)
from tests.processes import celery, start, wait_for

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
S = AccountStatus


def every_second(task: PeriodicTask, queue: str) -> None:
    interval, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    task.crontab, task.interval, task.queue, task.expire_seconds = None, interval, queue, None
    task.save()


def beat(cluster, name: str, tmp_path: Path):
    log = tmp_path / f"{name}.log"
    process = start(
        celery("beat", "-l", "INFO", "--pidfile=", "-s", str(tmp_path / f"{name}-schedule")),
        env=cluster.env,
        log=log,
    )
    cluster.processes.append(process)
    cluster.logs.append(log)
    return process, log


def test_two_beat_processes_cause_no_duplicated_effect_R1(cluster, tmp_path):
    # given 50 trials past their end, and expire_trials sent every second by two beats
    trials(50)
    PeriodicTask.objects.exclude(name="expire_trials").update(enabled=False)
    every_second(PeriodicTask.objects.get(name="expire_trials"), cluster.queue)
    cluster.worker("only")
    _, first_log = beat(cluster, "beat-a", tmp_path)
    _, second_log = beat(cluster, "beat-b", tmp_path)

    # when both have sent it several times
    def both_sent_thrice():
        return all(
            log.exists() and log.read_text().count("Sending due task expire_trials") >= 3
            for log in (first_log, second_log)
        )

    wait_for(both_sent_thrice, timeout=90, what="both beats sending", logs=cluster.logs)
    wait_for(
        lambda: (
            not Account.objects.filter(status=S.TRIAL).exists()
            and not JobRun.objects.filter(outcome="running").exists()
        ),
        timeout=60,
        what="the trials to expire",
        logs=cluster.logs,
    )

    # then one run per scheduled minute, and each trial expired once (R1)
    runs = JobRun.objects.filter(job="expire_trials")
    slots = list(runs.values_list("slot", flat=True))
    assert len(slots) == len(set(slots))
    assert all(slot.second == slot.microsecond == 0 for slot in slots), slots
    events = AccountEvent.objects.filter(to_status="expired")
    assert events.count() == events.values("account").distinct().count() == 50


def _can_restart(server: str) -> bool:
    tool = "pg_ctlcluster" if server == "postgres" else "redis-server"
    return shutil.which(tool) is not None and Path("/etc/postgresql").exists()


def restart_postgres() -> None:
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    for connection in connections.all():
        connection.close()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart", "-m", "fast"],
        check=True,
    )
    for _ in range(60):
        if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode == 0:
            return
        time.sleep(0.5)
    raise AssertionError("PostgreSQL did not come back")


def restart_redis() -> None:
    subprocess.run(["redis-cli", "-h", "127.0.0.1", "shutdown", "nosave"], check=False)
    subprocess.run(
        [
            "redis-server",
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            "6379",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        check=True,
    )
    for _ in range(60):
        if subprocess.run(["redis-cli", "-h", "127.0.0.1", "ping"], capture_output=True).stdout:
            return
        time.sleep(0.5)
    raise AssertionError("Redis did not come back")


@pytest.mark.restarts
@pytest.mark.skipif(not _can_restart("postgres"), reason="no local PostgreSQL cluster to restart")
def test_postgresql_restarted_mid_run_billing_fails_the_batch_and_the_next_run_finishes_R3(
    cluster, tmp_path
):
    # given 6,000 accounts due, billed in three batches of a few seconds
    ids = monthly_accounts_due(6_000)
    worker = cluster.worker("first", RECORDING_GATEWAY_DELAY="0.001")
    run = cluster.start_run("run_billing", BILLED_AS_OF)
    wait_for(
        lambda: JobBatch.objects.filter(run=run, state="running").exists(),
        timeout=60,
        what="a batch running",
        logs=cluster.logs,
        poll=0.05,
    )

    # when PostgreSQL restarts under it, half a second into the batch
    wait_for(
        lambda: JobBatch.objects.filter(
            run=run, state="running", started_at__lt=timezone.now() - timedelta(seconds=0.5)
        ).exists(),
        timeout=60,
        what="a batch half a second in",
        logs=cluster.logs,
        poll=0.05,
    )
    restart_postgres()

    # then the worker survives, and the batch it was running fails cleanly: recorded, with
    # the lost connection as its error, once the database is back
    first = cluster.finished(run, timeout=120)
    assert worker.poll() is None, "the worker died with the database"
    assert first.outcome == "failed"
    assert "connection" in first.error.lower() or "terminat" in first.error.lower(), first.error
    assert not JobBatch.objects.filter(run=run, state__in=("pending", "running")).exists()

    # and the next run (beat's next hour, here at once) bills what is left, once each: the
    # charges the failed batch had claimed are taken over once their lease has lapsed, asked
    # again with the same key, and recorded
    next_hour = BILLED_AS_OF + timedelta(hours=1)
    assert next_hour - BILLED_AS_OF > CHARGE_LEASE
    second = job_run_start(name="run_billing", as_of=next_hour, queue=cluster.queue)
    finished = cluster.finished(second, timeout=120)
    assert finished.outcome == "succeeded", finished.error
    assert finished.counts.get("charged", 0) > 0
    assert_each_charged_exactly_once(ids, tmp_path / "charges")


@pytest.mark.restarts
@pytest.mark.skipif(not _can_restart("redis"), reason="no local Redis server to restart")
def test_redis_restarted_with_batches_queued_loses_no_work_and_duplicates_none_R1(
    cluster, tmp_path
):
    # given a run of expire_trials planned and queued while no worker is up
    trials(300)
    PeriodicTask.objects.filter(task="jobs.run_job").update(enabled=False)
    run = job_run_start(name="expire_trials", as_of=timezone.now(), queue=cluster.queue)
    assert JobBatch.objects.filter(run=run, state="pending").count() == 1

    # when Redis restarts, losing the queued task (it keeps nothing on disk)
    restart_redis()

    # and workers and beat come back: the sweep (every second here) sends the batch again
    sweep = PeriodicTask.objects.get(task="jobs.sweep")
    every_second(sweep, cluster.queue)
    cluster.worker("back", JOB_REDISPATCH_AFTER="2")
    beat(cluster, "beat", tmp_path)
    finished = cluster.finished(run, timeout=90)

    # then the work is done once: every trial expired, one event each
    assert finished.outcome == "succeeded", finished.error
    assert finished.counts["expired"] == 300
    events = AccountEvent.objects.filter(to_status="expired")
    assert events.count() == events.values("account").distinct().count() == 300
    assert JobBatch.objects.get(run=run).attempts == 1
