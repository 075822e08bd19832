"""The four staff roles as groups, with the account permissions each one needs."""

from django.db import migrations

from core.roles import ROLES, grant, revoke

GRANTS = {
    "Support": [
        "accounts.view_account",
        "accounts.view_accountevent",
        "accounts.take_cancellation_call",
        "accounts.pause_account",
        "accounts.reactivate_account",
    ],
    "Billing": ["accounts.view_account", "accounts.view_accountevent"],
    "Compliance": [
        "accounts.view_account",
        "accounts.view_accountevent",
        "accounts.set_legal_hold",
    ],
    "Manager": [
        "accounts.view_account",
        "accounts.change_account",
        "accounts.view_accountevent",
        "jobs.view_jobrun",
    ],
}


def forwards(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for role in ROLES:
        Group.objects.get_or_create(name=role)
    grant(apps, GRANTS)


def backwards(apps, schema_editor):
    revoke(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("accounts", "0001_initial"),
        ("jobs", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
