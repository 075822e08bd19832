"""The worker cluster of the jobs' process tests (test_workers, test_faults)."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from jobs.models import JobBatch, JobRun
from jobs.services import job_run_start
from tests.processes import celery, process_env, start, stop, wait_for

# Seconds: the broker hands a killed worker's task out again after VISIBILITY; a batch with no
# heartbeat for LEASE is anyone's. A batch here takes a second or two, well under both.
VISIBILITY, LEASE = 8, 3


@pytest.fixture
def cluster(tmp_path, settings):
    """Starts worker processes on a queue of this test's own; stops them all afterwards. The
    test's own process (which plans runs and may sweep) uses the workers' lease and
    redispatch delays."""
    settings.JOB_BATCH_LEASE, settings.JOB_REDISPATCH_AFTER = LEASE, VISIBILITY

    class Cluster:
        queue = f"test-{uuid.uuid4().hex[:8]}"
        processes: list[subprocess.Popen] = []
        logs: list = []
        env = process_env(
            CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
            CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY),
            CELERY_UNACKED_RESTORE_INTERVAL="1",
            JOB_BATCH_LEASE=str(LEASE),
            JOB_REDISPATCH_AFTER=str(VISIBILITY),
            PAYMENT_GATEWAY="tests.jobs.gateway.RecordingGateway",
            RECORDING_GATEWAY_FILE=str(tmp_path / "charges"),
        )

        def worker(
            self, name: str, *, app: str = "backoffice", pool: str = "prefork", **env: str
        ) -> subprocess.Popen:
            log = tmp_path / f"{name}.log"
            args = ["-Q", self.queue, "-c", "1", "-n", f"{name}-{self.queue}@%h", "-l", "INFO"]
            process = start(
                celery(
                    "worker", *args, "-P", pool, "--without-gossip", "--without-mingle", app=app
                ),
                env={**self.env, **env},
                log=log,
            )
            self.processes.append(process)
            self.logs.append(log)
            return process

        def start_run(self, job: str, as_of: datetime) -> JobRun:
            return job_run_start(name=job, as_of=as_of, queue=self.queue)

        def finished(self, run: JobRun, *, timeout: float) -> JobRun:
            return wait_for(
                lambda: JobRun.objects.filter(pk=run.pk).exclude(outcome="running").first(),
                timeout=timeout,
                what=f"run #{run.pk} of {run.job} to finish",
                logs=self.logs,
            )

        def ready(self, *processes: subprocess.Popen, timeout: float = 120) -> None:
            """Wait until these workers consume their queue (a worker started on a busy
            machine can take many seconds, and a run started before would go to the others)."""
            logs = [self.logs[self.processes.index(p)] for p in processes]
            wait_for(
                lambda: all(" ready." in log.read_text(errors="replace") for log in logs),
                timeout=timeout,
                what="the workers to be ready",
                logs=self.logs,
            )

        def kill_in_the_middle(self, run: JobRun, process: subprocess.Popen) -> set[int]:
            """SIGKILL the worker (main process and pool) once a batch is done and another has
            been running a moment; returns the batches it was running.

            The worker is frozen first (SIGSTOP) and the batches read once its database work
            has come to rest, so a batch finishing in that instant is never taken for one the
            kill interrupted; if none is running then, the worker goes on and the next batch
            is taken."""

            def mid_run():
                batches = JobBatch.objects.filter(run=run)
                running = batches.filter(
                    state="running", started_at__lt=timezone.now() - timedelta(seconds=0.1)
                )
                return running.exists() and batches.filter(state="done").exists()

            def at_rest():
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                        "AND backend_type = 'client backend' AND state = 'active'"
                    )
                    return cursor.fetchone()[0] == 0

            while True:
                wait_for(mid_run, timeout=120, what="a batch mid-run", logs=self.logs, poll=0.05)
                os.killpg(process.pid, signal.SIGSTOP)
                wait_for(at_rest, timeout=30, what="the frozen worker's queries to end", poll=0.05)
                running = set(
                    JobBatch.objects.filter(run=run, state="running").values_list("pk", flat=True)
                )
                if running:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
                    return running
                os.killpg(process.pid, signal.SIGCONT)

    cluster = Cluster()
    yield cluster
    for process in cluster.processes:
        stop(process)
