"""Default schedules of the billing jobs (see billing/jobs.py for why these times) and the
billing permissions of the staff roles."""

from django.db import migrations

from core.roles import grant, revoke
from jobs.schedules import install_default_schedule, remove_default_schedule

SCHEDULES = {
    "run_billing": {"minute": "5", "description": "Bill accounts whose billing date has come"},
    "suspend_unpaid": {"minute": "20", "description": "Suspend accounts marked unpaid (R11)"},
    "cancel_unpaid": {"minute": "40", "description": "Cancel accounts unpaid > 90 days (R11)"},
}

GRANTS = {
    "Billing": [
        "billing.view_billingprofile",
        "billing.add_billingprofile",
        "billing.change_billingprofile",
        "billing.view_card",
        "billing.add_card",
        "billing.change_card",
        "billing.view_accountaddon",
        "billing.add_accountaddon",
        "billing.change_accountaddon",
        "billing.view_addon",
        "billing.view_plan",
        "billing.view_ledgerentry",
        "billing.view_cardchargeattempt",
        "billing.record_payment",
        "billing.retry_card",
        "billing.refund_charge",
    ],
    "Support": ["billing.view_billingprofile"],
    "Manager": [
        "billing.view_plan",
        "billing.change_plan",
        "billing.view_addon",
        "billing.change_addon",
        "billing.view_ledgerentry",
    ],
}


def forwards(apps, schema_editor):
    for job, options in SCHEDULES.items():
        install_default_schedule(apps, job, **options)
    grant(apps, GRANTS)


def backwards(apps, schema_editor):
    for job in SCHEDULES:
        remove_default_schedule(apps, job)
    revoke(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0002_ledger_append_only_trigger"),
        ("backoffice", "0001_staff_roles"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
