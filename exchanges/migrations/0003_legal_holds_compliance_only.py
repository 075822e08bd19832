"""Legal holds are set and released by Compliance only (SPEC "Compliance details"): the account
import no longer carries them, so Managers lose the permission 0002 gave them for it."""

from django.db import migrations

from core.roles import grant, revoke

MANAGER_HOLDS = {"Manager": ["accounts.set_legal_hold"]}


def forwards(apps, schema_editor):
    revoke(apps, MANAGER_HOLDS)


def backwards(apps, schema_editor):
    grant(apps, MANAGER_HOLDS)


class Migration(migrations.Migration):
    dependencies = [("exchanges", "0002_manager_grants")]

    operations = [migrations.RunPython(forwards, backwards)]
