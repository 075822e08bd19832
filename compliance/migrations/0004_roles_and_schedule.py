"""Compliance permissions for the staff roles, and the default purge schedule."""

from django.db import migrations

from core.roles import grant, revoke
from jobs.schedules import install_default_schedule, remove_default_schedule

GRANTS = {
    "Compliance": [
        "compliance.view_suppression",
        "compliance.view_optin",
        "compliance.add_optin",
        "compliance.view_suppressionexport",
        "compliance.view_suppressionimport",
        "compliance.view_purgereceipt",
        "compliance.view_retentionaccount",
        "compliance.export_suppressions",
        "compliance.import_suppressions",
        "accounts.set_legal_hold",
    ],
    # Managers bring other providers' unsubscribe lists (SPEC "Imports only add").
    "Manager": [
        "compliance.view_suppressionimport",
        "compliance.import_suppressions",
    ],
}


def forwards(apps, schema_editor):
    grant(apps, GRANTS)
    install_default_schedule(
        apps,
        "purge_inactive",
        minute="30",
        hour="3",
        description="Purges accounts inactive for more than 120 days (R7), keeping suppressions",
    )


def backwards(apps, schema_editor):
    revoke(apps, GRANTS)
    remove_default_schedule(apps, "purge_inactive")


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0003_append_only_triggers"),
        ("backoffice", "0001_staff_roles"),
        ("accounts", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
