"""Default beat schedules, installed by data migrations so staff can edit them in the admin.

An app's migration calls `install_default_schedule(apps, "expire_trials", minute="*/15")`;
it only creates the entry when none exists, so a schedule a staff member changed stays.
"""

from __future__ import annotations

import json


def install_default_schedule(
    apps,
    job: str,
    *,
    minute: str = "0",
    hour: str = "*",
    day_of_week: str = "*",
    day_of_month: str = "*",
    month_of_year: str = "*",
    description: str = "",
) -> None:
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=job).exists():
        return
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=minute,
        hour=hour,
        day_of_week=day_of_week,
        day_of_month=day_of_month,
        month_of_year=month_of_year,
        timezone="UTC",
    )
    PeriodicTask.objects.create(
        name=job,
        task="jobs.run_job",
        crontab=crontab,
        kwargs=json.dumps({"name": job}),
        description=description,
        enabled=True,
    )


def remove_default_schedule(apps, job: str) -> None:
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=job, task="jobs.run_job").delete()
