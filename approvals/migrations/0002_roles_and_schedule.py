"""Who asks for and signs off what (SPEC "Compliance details"), and the expiry job's schedule.

Compliance releases legal holds, records staff-entered opt-ins and purges by hand; Billing
refunds. Each sees the requests of the kinds it may decide (the admin narrows the list)."""

from django.db import migrations

from core.roles import grant, revoke
from jobs.schedules import install_default_schedule, remove_default_schedule

GRANTS = {
    "Compliance": ["approvals.view_approvalrequest", "approvals.purge_account"],
    "Billing": ["approvals.view_approvalrequest"],
}


def forwards(apps, schema_editor):
    grant(apps, GRANTS)
    install_default_schedule(
        apps,
        "expire_signoffs",
        minute="10",
        description="Records sign-off requests left unanswered past their expiry as expired",
    )


def backwards(apps, schema_editor):
    revoke(apps, GRANTS)
    remove_default_schedule(apps, "expire_signoffs")


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0001_signoff_requests"),
        ("backoffice", "0001_staff_roles"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
