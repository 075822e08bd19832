"""Compliance officers record erasure requests and sign off another officer's, and review
the complaints the mail providers report."""

from django.db import migrations

from core.roles import grant, revoke

GRANTS = {
    "Compliance": [
        "compliance.view_erasurerequest",
        "compliance.add_erasurerequest",
        "compliance.approve_erasurerequest",
        "compliance.view_complaint",
    ],
}


def forwards(apps, schema_editor):
    grant(apps, GRANTS)


def backwards(apps, schema_editor):
    revoke(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [("compliance", "0009_erasure_triggers"), ("backoffice", "0001_staff_roles")]

    operations = [migrations.RunPython(forwards, backwards)]
