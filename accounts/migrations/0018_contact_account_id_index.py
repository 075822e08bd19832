"""Contacts indexed by (account, id) in place of the account alone: every look-up by account
uses it as before, and the purge of a big account walks it in batches, each starting after the
last id the previous one deleted (R7). Built without locking out writes on PostgreSQL (the
contacts table is the largest), before the index it replaces is dropped."""

import django.db.models.deletion
from django.db import migrations, models

INDEX = "contact_account_id_idx"


def create(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(
        f"CREATE INDEX {concurrently}IF NOT EXISTS {INDEX} ON accounts_contact (account_id, id)"
    )


def drop(apps, schema_editor):
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("accounts", "0017_rare_state_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(create, drop)],
            state_operations=[
                migrations.AddIndex(
                    model_name="contact",
                    index=models.Index(fields=["account", "id"], name=INDEX),
                )
            ],
        ),
        migrations.AlterField(
            model_name="contact",
            name="account",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="contacts",
                to="accounts.account",
                verbose_name="account",
            ),
        ),
    ]
