"""Managers move data in and out as CSV: the import and export permissions, the list of
imports, and the legal hold column of the account import (SPEC: managers' bulk updates).
Support, Billing and Compliance get none of them, so they see no import or export buttons."""

from django.db import migrations

from core.roles import grant, revoke

GRANTS = {
    "Manager": [
        "exchanges.view_importrecord",
        "exchanges.import_accounts",
        "exchanges.export_accounts",
        "exchanges.import_catalogue",
        "exchanges.export_catalogue",
        "exchanges.export_cancellation_requests",
        "exchanges.export_ledger",
        "exchanges.export_job_runs",
        # The account import may set and release legal holds (with a reason, as an event).
        "accounts.set_legal_hold",
        # The catalogue import adds plans, add-ons and reasons as well as changing them.
        "billing.add_plan",
        "billing.add_addon",
    ],
}


def forwards(apps, schema_editor):
    grant(apps, GRANTS)


def backwards(apps, schema_editor):
    revoke(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("exchanges", "0001_initial"),
        ("backoffice", "0001_staff_roles"),
        ("accounts", "0004_reasons_roles_schedules"),
        ("billing", "0003_schedules_and_roles"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
