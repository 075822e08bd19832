"""Demo history for operating it: last night's purge run, whose second batch was given up
after its workers died, as an operator would find it under *Job runs* and in /metrics
(`backoffice_job_batches_failed_total{job="purge_inactive"}`, README "Runbook")."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from django.utils.translation import gettext as _

from jobs.models import JobBatch, JobRun


def seed(*, rng: random.Random, now: datetime, count: int) -> str:
    night = datetime.combine(now.date() - timedelta(days=1), time(3, 30), tzinfo=now.tzinfo)
    gave_up = (
        "Gave up after 5 attempts that did not finish (each worker died or lost its database); "
        "the next run takes these items up"
    )
    run = JobRun.objects.create(
        job="purge_inactive",
        as_of=night,
        trigger=JobRun.Trigger.SCHEDULE,
        slot=night,
        started_at=night,
        worker="demo-worker-2:4711",
        batches=2,
        outcome=JobRun.Outcome.FAILED,
        finished_at=night + timedelta(minutes=12),
        counts={"accounts_purged": 0, "accounts_skipped": 0},
        error=f"1 of 2 batch(es) failed; batch 2: {gave_up}",
    )
    JobBatch.objects.create(
        run=run,
        number=1,
        state=JobBatch.State.DONE,
        attempts=1,
        started_at=night,
        finished_at=night + timedelta(seconds=4),
        counts={"accounts_purged": 0, "accounts_skipped": 0},
        worker="demo-worker-1:4242",
    )
    JobBatch.objects.create(
        run=run,
        number=2,
        state=JobBatch.State.FAILED,
        attempts=6,
        started_at=night + timedelta(minutes=12),
        finished_at=night + timedelta(minutes=12),
        error=gave_up,
        worker="demo-worker-2:4711",
    )
    return _("last night's purge run with a batch given up")
