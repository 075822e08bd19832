"""The accounts jobs are registered, scheduled by default and runnable by hand; the staff
roles hold the desk's permissions."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from accounts.models import AccountStatus
from jobs.models import JobRun
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("job", "minute"), [("expire_trials", "*/15"), ("send_confirmations", "*/5")]
)
def test_default_schedules_exist_and_run_the_job_R1_R4(job, minute):
    task = PeriodicTask.objects.get(name=job)

    assert (task.task, json.loads(task.kwargs), task.enabled) == (
        "jobs.run_job",
        {"name": job},
        True,
    )
    assert task.crontab.minute == minute


def test_runjob_expires_trials_as_of_a_moment_R1(now, capsys):
    account = AccountFactory(status=AccountStatus.TRIAL, trial_ends_at=now - timedelta(minutes=1))

    call_command("runjob", "expire_trials", "--as-of", now.isoformat())

    account.refresh_from_db()
    assert account.status == AccountStatus.EXPIRED
    assert JobRun.objects.get(job="expire_trials").counts == {"expired": 1, "skipped": 0}
    assert "expired=1" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("role", "granted", "refused"),
    [
        (
            "Support",
            ["take_cancellation_call", "add_cancellationrequest", "view_cancellationreason"],
            ["add_cancellationreason"],
        ),
        (
            "Manager",
            ["add_cancellationreason", "change_cancellationreason", "view_cancellationrequest"],
            ["take_cancellation_call"],
        ),
        ("Billing", ["view_cancellationrequest"], ["take_cancellation_call", "pause_account"]),
    ],
)
def test_roles_hold_the_desk_permissions_they_need(make_role_user, role, granted, refused):
    user = make_role_user(role)

    assert all(user.has_perm(f"accounts.{p}") for p in granted)
    assert not any(user.has_perm(f"accounts.{p}") for p in refused)
