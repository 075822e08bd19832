"""`manage.py runjob` and the job run record (foundation)."""

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from jobs.models import JobRun
from jobs.registry import JOBS, register

pytestmark = pytest.mark.django_db


@pytest.fixture
def counting_job():
    """A job that counts what it was asked to do, registered only for the test."""
    calls = []

    @register("count_things", description="counts its calls")
    def count_things(*, as_of, dry_run):
        calls.append((as_of, dry_run))
        return {"things": 3, "dry_run": int(dry_run)}

    yield calls
    JOBS.pop("count_things", None)


@pytest.fixture
def failing_job():
    @register("always_fails", description="fails")
    def always_fails(*, as_of, dry_run):
        raise RuntimeError("gateway unreachable")

    yield
    JOBS.pop("always_fails", None)


def test_runjob_records_the_run_with_counts_and_as_of(counting_job):
    out = StringIO()

    call_command("runjob", "count_things", "--as-of", "2026-03-01T06:00:00+00:00", stdout=out)

    run = JobRun.objects.get(job="count_things")
    assert run.outcome == JobRun.Outcome.SUCCEEDED
    assert run.as_of == datetime(2026, 3, 1, 6, tzinfo=UTC)
    assert run.counts == {"things": 3, "dry_run": 0}
    assert run.trigger == JobRun.Trigger.COMMAND
    assert run.finished_at >= run.started_at
    assert "things=3" in out.getvalue()
    assert counting_job == [(run.as_of, False)]


def test_runjob_dry_run_is_passed_to_the_job_and_recorded(counting_job):
    call_command("runjob", "count_things", "--dry-run", stdout=StringIO())

    run = JobRun.objects.get(job="count_things")
    assert run.dry_run is True
    assert counting_job[0][1] is True


def test_runjob_accepts_a_plain_date_as_midnight_utc(counting_job):
    call_command("runjob", "count_things", "--as-of", "2026-03-01", stdout=StringIO())

    assert JobRun.objects.get().as_of == datetime(2026, 3, 1, tzinfo=UTC)


def test_runjob_unknown_name_lists_known_jobs_and_fails(counting_job):
    with pytest.raises(CommandError, match=r"unknown job 'nope'.*count_things"):
        call_command("runjob", "nope")
    assert not JobRun.objects.exists()


def test_runjob_rejects_a_malformed_as_of(counting_job):
    with pytest.raises(CommandError, match="not an ISO date"):
        call_command("runjob", "count_things", "--as-of", "yesterday")
    assert not JobRun.objects.exists()


def test_a_failing_job_is_recorded_as_failed_with_its_error(failing_job):
    with pytest.raises(CommandError, match="gateway unreachable"):
        call_command("runjob", "always_fails")

    run = JobRun.objects.get(job="always_fails")
    assert run.outcome == JobRun.Outcome.FAILED
    assert "gateway unreachable" in run.error
    assert run.finished_at is not None


def test_job_runs_are_read_only_in_the_admin_also_for_superusers(admin_client, counting_job):
    call_command("runjob", "count_things", stdout=StringIO())
    run = JobRun.objects.get()

    page = admin_client.get(f"/admin/jobs/jobrun/{run.pk}/change/")
    delete = admin_client.post(f"/admin/jobs/jobrun/{run.pk}/delete/", {"post": "yes"})

    assert page.status_code == 200
    assert b"count_things" in page.content
    assert delete.status_code == 403
    assert JobRun.objects.filter(pk=run.pk).exists()


def test_the_celery_task_reads_as_of_like_runjob_a_plain_date_is_midnight_utc(counting_job):
    from jobs.tasks import run_job

    run_job("count_things", as_of="2026-03-01")

    run = JobRun.objects.get(job="count_things")
    assert run.as_of == datetime(2026, 3, 1, tzinfo=UTC)
    assert run.trigger == JobRun.Trigger.SCHEDULE
