"""Compliance officers make and revoke the sending platform's API keys: the keys open the
suppression lists they keep."""

from django.db import migrations

from core.roles import grant, revoke

GRANTS = {"Compliance": ["api.view_apikey", "api.add_apikey", "api.revoke_apikey"]}


def forwards(apps, schema_editor):
    grant(apps, GRANTS)


def backwards(apps, schema_editor):
    revoke(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [("api", "0001_initial"), ("backoffice", "0001_staff_roles")]

    operations = [migrations.RunPython(forwards, backwards)]
