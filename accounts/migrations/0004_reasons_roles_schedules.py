"""The starting list of cancellation reasons, the desk's permissions for the staff roles, and
the default schedules of expire_trials and send_confirmations."""

from django.db import migrations

from core.roles import grant, revoke
from jobs.schedules import install_default_schedule, remove_default_schedule

REASONS = [
    "Too expensive",
    "Not using it enough",
    "Switching to another provider",
    "Business closed or sold",
    "Missing a feature",
    "Deliverability problems",
    "Seasonal business",
    "Other",
]
# Recorded by the system on requests no agent took; never offered at the desk.
SYSTEM_REASONS = ["Non-payment", "Not recorded (cancelled outside the desk)"]

CONTENT_VIEW = [
    "accounts.view_signupform",
    "accounts.view_integration",
    "accounts.view_hostedfile",
]
GRANTS = {
    "Support": [
        "accounts.view_cancellationrequest",
        "accounts.add_cancellationrequest",
        "accounts.view_cancellationreason",
        *CONTENT_VIEW,
    ],
    "Billing": ["accounts.view_cancellationrequest", "accounts.view_cancellationreason"],
    "Compliance": [
        "accounts.view_cancellationrequest",
        "accounts.view_cancellationreason",
        *CONTENT_VIEW,
    ],
    "Manager": [
        "accounts.view_cancellationrequest",
        "accounts.view_cancellationreason",
        "accounts.add_cancellationreason",
        "accounts.change_cancellationreason",
        *CONTENT_VIEW,
    ],
}


def forwards(apps, schema_editor):
    Reason = apps.get_model("accounts", "CancellationReason")
    for name in REASONS:
        Reason.objects.get_or_create(name=name)
    for name in SYSTEM_REASONS:
        Reason.objects.get_or_create(name=name, defaults={"system": True, "active": False})
    grant(apps, GRANTS)
    install_default_schedule(
        apps,
        "expire_trials",
        minute="*/15",
        description="R1: trials end at local midnight, which falls on every quarter hour "
        "somewhere (UTC+5:45, +9:30 ...)",
    )
    install_default_schedule(
        apps,
        "send_confirmations",
        minute="*/5",
        description="R4: every cancellation request confirmed within 24 hours",
    )


def backwards(apps, schema_editor):
    revoke(apps, GRANTS)
    remove_default_schedule(apps, "expire_trials")
    remove_default_schedule(apps, "send_confirmations")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_cancellation_desk"),
        ("backoffice", "0001_staff_roles"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
