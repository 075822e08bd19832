"""Jobs split into batches: planning, claiming, summing, failing, slots and the sweep.

These run the batches in the test's process; tests/jobs/test_workers.py runs them on real
worker processes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from accounts.models import Account, AccountEvent, AccountStatus
from compliance.models import PurgeReceipt
from jobs import services, tasks
from jobs.models import JobBatch, JobRun
from jobs.registry import get_job
from jobs.selectors import jobs_late
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db
S = AccountStatus


def trials(count: int, *, ended: timedelta = timedelta(days=1)) -> list[Account]:
    end = timezone.now() - ended
    return Account.objects.bulk_create(
        [
            Account(
                username=f"trial-{i:06d}",
                primary_email=f"trial-{i:06d}@example.com",
                status=S.TRIAL,
                trial_ends_at=end,
                created_at=end - timedelta(days=30),
            )
            for i in range(count)
        ]
    )


def test_a_run_is_split_into_batches_of_the_jobs_size_and_sums_them_R1(settings):
    # given 25 due trials and batches of 10
    settings.JOB_BATCH_SIZES = {"expire_trials": 10}
    accounts = trials(25)
    trials_not_due = AccountFactory(status=S.TRIAL, trial_ends_at=timezone.now() + timedelta(1))

    # when the job runs
    run = services.job_run(
        name="expire_trials", as_of=timezone.now(), dry_run=False, trigger=JobRun.Trigger.COMMAND
    )

    # then three batches cover the due ids, contiguous, and the run sums them
    batches = list(run.batch_set.order_by("number"))
    assert [(b.items, b.state) for b in batches] == [(10, "done"), (10, "done"), (5, "done")]
    assert batches[0].low == 0 and batches[-1].high == accounts[-1].pk
    assert all(a.high == b.low for a, b in zip(batches, batches[1:], strict=False))
    assert (run.outcome, run.batches, run.counts) == ("succeeded", 3, {"expired": 25, "skipped": 0})
    assert Account.objects.filter(status=S.EXPIRED).count() == 25
    trials_not_due.refresh_from_db()
    assert trials_not_due.status == S.TRIAL


def test_a_job_with_nothing_due_finishes_at_once_with_no_batch():
    run = services.job_run(
        name="expire_trials", as_of=timezone.now(), dry_run=False, trigger=JobRun.Trigger.COMMAND
    )
    assert (run.outcome, run.batches, run.counts) == ("succeeded", 0, {})
    assert run.finished_at is not None


def test_a_bulk_job_leaves_one_event_per_account_it_changed_R7_R12():
    """Audit records come from the services, not from signals a bulk update would bypass:
    the purge moves its accounts with one UPDATE per group, and 10,000 purged accounts still
    leave 10,000 events (R12), each with its receipt."""
    gone = timezone.now() - timedelta(days=200)
    Account.objects.bulk_create(
        [
            Account(
                username=f"gone-{i:06d}",
                primary_email=f"gone-{i:06d}@example.com",
                status=S.CANCELLED,
                inactive_since=gone,
                created_at=gone - timedelta(days=400),
            )
            for i in range(10_000)
        ]
    )

    run = services.job_run(
        name="purge_inactive", as_of=timezone.now(), dry_run=False, trigger="command"
    )

    assert (run.outcome, run.counts["accounts_purged"]) == ("succeeded", 10_000)
    assert run.batches == 10_000 // get_job("purge_inactive").size
    events = AccountEvent.objects.filter(kind="purge", by_job="purge_inactive", to_status="purged")
    assert events.count() == 10_000
    assert events.values("account").distinct().count() == 10_000
    assert Account.objects.filter(status=S.PURGED).count() == 10_000
    # each receipt names the run its batch belonged to
    receipts = PurgeReceipt.objects.filter(run__startswith=f"job run #{run.pk} (purge_inactive")
    assert receipts.count() == 10_000


def test_expired_trials_each_leave_their_event_R1_R12():
    trials(1_000)

    run = services.job_run(
        name="expire_trials", as_of=timezone.now(), dry_run=False, trigger=JobRun.Trigger.COMMAND
    )

    assert run.counts["expired"] == 1_000
    events = AccountEvent.objects.filter(by_job="expire_trials", to_status="expired")
    assert events.values("account").distinct().count() == events.count() == 1_000


def plan_one(**overrides) -> JobRun:
    trials(3)
    return services.job_run_plan(
        name="expire_trials",
        as_of=timezone.now(),
        dry_run=False,
        trigger=JobRun.Trigger.SCHEDULE,
        **overrides,
    )


def test_a_batch_delivered_twice_runs_once():
    run = plan_one()
    batch = run.batch_set.get()

    assert services.job_batch_run(batch_id=batch.pk) == "done"
    assert services.job_batch_run(batch_id=batch.pk) == "skipped"

    run.refresh_from_db()
    assert (run.outcome, run.counts["expired"]) == ("succeeded", 3)
    assert AccountEvent.objects.filter(to_status="expired").count() == 3


def test_a_running_batch_with_a_live_heartbeat_is_left_to_its_worker(settings):
    """A redelivery while the first worker still works (visibility timeout shorter than the
    batch) must not run the batch a second time beside it."""
    settings.JOB_BATCH_LEASE = 60
    run = plan_one()
    batch = run.batch_set.get()
    assert services.job_batch_claim(batch_id=batch.pk, now=timezone.now())

    assert services.job_batch_run(batch_id=batch.pk) == "skipped"
    assert Account.objects.filter(status=S.EXPIRED).count() == 0


def test_a_batch_whose_worker_died_is_taken_up_again_and_finishes_once(settings):
    settings.JOB_BATCH_LEASE = 60
    run = plan_one()
    batch = run.batch_set.get()
    # a worker claimed it, expired one account, and died (no heartbeat for two minutes)
    services.job_batch_claim(batch_id=batch.pk, now=timezone.now() - timedelta(minutes=2))
    first = Account.objects.filter(status=S.TRIAL).order_by("pk").first()
    from accounts.services import account_expire_trial
    from core.actors import Actor

    account_expire_trial(
        account=first, by=Actor.system("expire_trials"), now=timezone.now(), reason="Trial ended"
    )

    assert services.job_batch_run(batch_id=batch.pk) == "done"

    batch.refresh_from_db()
    run.refresh_from_db()
    assert (batch.attempts, batch.state, run.outcome) == (2, "done", "succeeded")
    assert Account.objects.filter(status=S.EXPIRED).count() == 3
    assert AccountEvent.objects.filter(to_status="expired").count() == 3


def test_a_batch_that_never_finishes_is_given_up_after_the_attempts_allowed(settings):
    settings.JOB_BATCH_LEASE = 60
    settings.JOB_BATCH_MAX_ATTEMPTS = 2
    run = plan_one()
    batch = run.batch_set.get()
    # two workers took it and died, one after the other
    for minutes in (10, 5):
        now = timezone.now() - timedelta(minutes=minutes)
        assert services.job_batch_claim(batch_id=batch.pk, now=now)

    assert services.job_batch_run(batch_id=batch.pk) == "failed"

    run.refresh_from_db()
    assert run.outcome == "failed"
    assert "Gave up after 2 attempts" in run.error
    assert Account.objects.filter(status=S.EXPIRED).count() == 0


def test_a_failing_batch_fails_the_run_and_the_next_run_finishes_the_work(settings):
    trials(4)
    settings.JOB_BATCH_SIZES = {"expire_trials": 2}
    job = get_job("expire_trials")
    real = job.function
    calls = []

    def flaky(**kwargs):
        calls.append(kwargs["items"])
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(**kwargs)

    object.__setattr__(job, "function", flaky)
    try:
        with pytest.raises(OperationalError):
            services.job_run(
                name="expire_trials", as_of=timezone.now(), dry_run=False, trigger="command"
            )
        failed = JobRun.objects.get()
        assert failed.outcome == "failed"
        assert "server closed the connection unexpectedly" in failed.error
        assert list(failed.batch_set.values_list("state", flat=True)) == ["failed", "failed"]
        assert Account.objects.filter(status=S.EXPIRED).count() == 0

        # the next run finds the same trials still due and expires them
        again = services.job_run(
            name="expire_trials", as_of=timezone.now(), dry_run=False, trigger="command"
        )
    finally:
        object.__setattr__(job, "function", real)
    assert (again.outcome, again.counts["expired"]) == ("succeeded", 4)


def test_the_same_scheduled_minute_starts_one_run_whatever_sends_it():
    """Two beat processes (or beat and the sweep) sending the same minute: one run."""
    slot = timezone.now().replace(second=0, microsecond=0)

    first = plan_one(slot=slot + timedelta(seconds=1))
    second = services.job_run_plan(
        name="expire_trials",
        as_of=timezone.now(),
        dry_run=False,
        trigger="schedule",
        slot=slot + timedelta(seconds=42),
    )

    assert first is not None and second is None
    assert JobRun.objects.filter(job="expire_trials").count() == 1
    assert JobBatch.objects.count() == 1


def hourly(name: str, *, queue: str = "") -> PeriodicTask:
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="5", hour="*", day_of_week="*", day_of_month="*", month_of_year="*"
    )
    task = PeriodicTask.objects.get(name=name)
    task.crontab, task.interval, task.queue = crontab, None, queue or None
    task.save()
    return task


def test_a_schedule_that_passed_with_no_run_is_late_and_the_sweep_starts_it_once(
    settings, monkeypatch
):
    settings.JOB_LATE_AFTER = 600
    PeriodicTask.objects.filter(task="jobs.run_job").exclude(name="expire_trials").update(
        enabled=False
    )
    hourly("expire_trials")
    now = timezone.now()
    # the last run was three hours ago; the workers were down since
    JobRun.objects.create(
        job="expire_trials",
        as_of=now - timedelta(hours=3),
        trigger="schedule",
        started_at=now - timedelta(hours=3),
        finished_at=now - timedelta(hours=3),
        outcome="succeeded",
    )
    trials(2)

    late = jobs_late(now=now)

    assert [entry.job for entry in late] == ["expire_trials"]
    assert late[0].due_at.minute == 5
    assert now - timedelta(hours=3) < late[0].due_at < now - timedelta(hours=1)

    # the sweep starts it (its batches go to the workers); a second sweep starts nothing
    sent = []
    monkeypatch.setattr(tasks.run_batch, "apply_async", lambda args, **o: sent.append(args[0]))
    first = services.jobs_sweep(now=now)
    second = services.jobs_sweep(now=now)
    assert first == {"batches_resent": 0, "runs_closed": 0, "late_runs_started": 1}
    assert second == {"batches_resent": 0, "runs_closed": 0, "late_runs_started": 0}
    assert len(sent) == 1
    assert jobs_late(now=now) == []


def test_the_sweep_resends_batches_no_worker_is_on(settings, monkeypatch):
    settings.JOB_BATCH_LEASE = 60
    settings.JOB_REDISPATCH_AFTER = 300
    # (no schedule is late here: this is about batches)
    PeriodicTask.objects.filter(task="jobs.run_job").update(enabled=False)
    now = timezone.now()
    run = plan_one(queue="jobs-a")
    batch = run.batch_set.get()
    JobRun.objects.filter(pk=run.pk).update(started_at=now - timedelta(minutes=20))
    # dispatched 20 minutes ago and never started: the broker lost it (Redis restarted)
    JobBatch.objects.filter(pk=batch.pk).update(dispatched_at=now - timedelta(minutes=20))
    sent = []
    monkeypatch.setattr(
        tasks.run_batch, "apply_async", lambda args, **options: sent.append((args[0], options))
    )
    counts = services.jobs_sweep(now=now)
    # sent again just now: the next sweep waits for it
    again = services.jobs_sweep(now=timezone.now())

    assert counts["batches_resent"] == 1 and again["batches_resent"] == 0
    assert sent == [(batch.pk, {"queue": "jobs-a"})]


class Killed(BaseException):
    """Stands for the worker dying at this point (not an error any code would catch)."""


def test_a_run_whose_worker_died_before_closing_it_is_closed_by_the_sweep(monkeypatch):
    # given a run whose only batch finished, and whose worker died before closing the run
    PeriodicTask.objects.filter(task="jobs.run_job").update(enabled=False)
    run = plan_one()
    batch = run.batch_set.get()

    def dies(**kwargs):
        raise Killed

    with monkeypatch.context() as patched:
        patched.setattr(services, "job_run_finish", dies)
        with pytest.raises(Killed):
            services.job_batch_run(batch_id=batch.pk)
    run.refresh_from_db()
    assert (run.outcome, JobBatch.objects.get(pk=batch.pk).state) == ("running", "done")

    # when the sweep comes by
    counts = services.jobs_sweep(now=timezone.now())

    # then the run is closed with its batch's counts, once
    run.refresh_from_db()
    assert counts["runs_closed"] == 1
    assert (run.outcome, run.counts) == ("succeeded", {"expired": 3, "skipped": 0})
    assert services.jobs_sweep(now=timezone.now())["runs_closed"] == 0


def test_the_default_schedule_includes_the_sweep_every_minute():
    sweep = PeriodicTask.objects.get(task="jobs.sweep")
    assert (sweep.interval.every, sweep.interval.period, sweep.enabled) == (60, "seconds", True)
    assert sweep.expire_seconds and sweep.expire_seconds < 60
    assert json.loads(sweep.kwargs or "{}") == {}
