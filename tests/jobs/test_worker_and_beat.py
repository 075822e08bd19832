"""A job scheduled by beat runs on a real Celery worker over the real Redis broker."""

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from accounts.models import AccountStatus
from jobs.models import JobRun
from tests.factories import AccountFactory
from tests.processes import celery, process_env, start, stop, wait_for

pytestmark = [
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_default_schedules_are_installed_for_every_job_and_editable():
    from jobs.registry import JOBS

    scheduled = set(PeriodicTask.objects.filter(task="jobs.run_job").values_list("name", flat=True))

    assert JOBS, "no job is registered"
    assert scheduled == set(JOBS)
    for task in PeriodicTask.objects.filter(task="jobs.run_job"):
        assert json.loads(task.kwargs) == {"name": task.name}
        assert task.enabled


def test_beat_schedule_entry_runs_the_job_on_a_worker_and_records_the_run_R1(tmp_path, settings):
    # given a trial that ended yesterday and beat's entry for expire_trials, made to fire every
    # second on a queue of this test's own
    trial = AccountFactory(
        status=AccountStatus.TRIAL, trial_ends_at=timezone.now() - timedelta(days=1)
    )
    queue = f"test-{uuid.uuid4().hex[:8]}"
    every_second, _ = IntervalSchedule.objects.get_or_create(
        every=1, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.filter(task="jobs.run_job").exclude(name="expire_trials").update(
        enabled=False
    )
    entry = PeriodicTask.objects.get(name="expire_trials")
    entry.crontab = None
    entry.interval = every_second
    entry.queue = queue
    entry.save()

    env = process_env(CELERY_BROKER_URL=settings.CELERY_BROKER_URL)
    worker_log, beat_log = tmp_path / "worker.log", tmp_path / "beat.log"
    worker = start(
        celery("worker", "-Q", queue, "-c", "1", "-n", f"{queue}@%h", "-l", "INFO"),
        env=env,
        log=worker_log,
    )
    beat = start(
        celery("beat", "-l", "INFO", "--pidfile=", "-s", str(tmp_path / "beat-schedule")),
        env=env,
        log=beat_log,
    )
    try:
        # when beat fires and the worker picks the job up
        run = wait_for(
            lambda: JobRun.objects.filter(
                job="expire_trials", outcome=JobRun.Outcome.SUCCEEDED
            ).first(),
            timeout=90,
            what="a finished expire_trials run",
            logs=(worker_log, beat_log),
        )
    finally:
        stop(beat)
        stop(worker)

    # then the run is recorded as scheduled, by the worker's process, and did its work
    assert run.trigger == JobRun.Trigger.SCHEDULE
    assert run.worker and run.finished_at
    trial.refresh_from_db()
    assert trial.status == AccountStatus.EXPIRED
