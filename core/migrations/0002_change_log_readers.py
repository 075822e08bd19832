"""Every staff role reads the change log of the catalogue (who changed a plan, an add-on, a
reason, and why)."""

from django.db import migrations

from core.roles import ROLES, grant

GRANTS = {role: ["core.view_changerecord"] for role in ROLES}


def forwards(apps, schema_editor):
    grant(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_change_log"), ("backoffice", "0001_staff_roles")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
