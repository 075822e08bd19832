from django.db import migrations

from jobs.schedules import install_default_schedule, remove_default_schedule


def forwards(apps, schema_editor):
    # Hourly: the last snapshot of a month is its month-end figure, whatever the time zone.
    install_default_schedule(
        apps, "snapshot_states", minute="55", description="Dashboard: accounts per state"
    )


def backwards(apps, schema_editor):
    remove_default_schedule(apps, "snapshot_states")


class Migration(migrations.Migration):
    dependencies = [
        ("backoffice", "0002_state_snapshots"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
