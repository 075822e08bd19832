"""Beat's housekeeping entry: `jobs.sweep` every minute (see jobs.services.jobs_sweep).

Its messages expire after 50 seconds: while the workers are down, beat keeps sending one a
minute, and the workers, back, should run the latest one, not an hour's backlog of them."""

from django.db import migrations

SWEEP = "jobs housekeeping (sweep)"


def install(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(task="jobs.sweep").exists():
        return
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    PeriodicTask.objects.create(
        name=SWEEP,
        task="jobs.sweep",
        interval=every_minute,
        expire_seconds=50,
        description="Resends batches no worker is running and starts runs a missed schedule "
        "left out",
        enabled=True,
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task="jobs.sweep").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0002_batches"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install, remove)]
