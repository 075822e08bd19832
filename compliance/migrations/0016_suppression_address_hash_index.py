"""The staff's "is this address suppressed anywhere?" search and the erasure's redaction look an
address up by equality only: a hash index of the normalised address (a 4-byte code a row)
replaces the B-tree that kept the whole address (about half its bytes). The one range read
of that index, the erased keys of every account for the list of lifted events, gets a
partial index of its own that holds the erased rows only.

Built CONCURRENTLY (suppressions keep being recorded while it builds; the old index goes only
once the new one answers) and IF NOT EXISTS / IF EXISTS: the migration test that takes
compliance back past the erasure triggers (0009) marks this one unapplied without undoing it,
and applies it again. On SQLite the plain indexes of the model state."""

from django.db import migrations, models

import core.indexes

ERASED_CONDITION = "normalised >= 'sha256:' AND normalised < 'sha256;'"

FORWARD = [
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS suppression_address_hash_idx "
    "ON compliance_suppression USING hash (normalised)",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS suppression_erased_idx "
    f"ON compliance_suppression (normalised) WHERE {ERASED_CONDITION}",
    "DROP INDEX CONCURRENTLY IF EXISTS suppression_address_idx",
]
BACKWARD = [
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS suppression_address_idx "
    "ON compliance_suppression (normalised)",
    "DROP INDEX CONCURRENTLY IF EXISTS suppression_erased_idx",
    "DROP INDEX CONCURRENTLY IF EXISTS suppression_address_hash_idx",
]
SQLITE_FORWARD = [
    "CREATE INDEX IF NOT EXISTS suppression_address_hash_idx "
    "ON compliance_suppression (normalised)",
    "CREATE INDEX IF NOT EXISTS suppression_erased_idx "
    f"ON compliance_suppression (normalised) WHERE {ERASED_CONDITION}",
    "DROP INDEX IF EXISTS suppression_address_idx",
]
SQLITE_BACKWARD = [
    "CREATE INDEX IF NOT EXISTS suppression_address_idx ON compliance_suppression (normalised)",
    "DROP INDEX IF EXISTS suppression_erased_idx",
    "DROP INDEX IF EXISTS suppression_address_hash_idx",
]


def _run(postgres: list[str], other: list[str]):
    def run(apps, schema_editor):
        postgresql = schema_editor.connection.vendor == "postgresql"
        for statement in postgres if postgresql else other:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [("compliance", "0015_purge_receipt_at_index")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunPython(_run(FORWARD, SQLITE_FORWARD), _run(BACKWARD, SQLITE_BACKWARD))
            ],
            state_operations=[
                migrations.RemoveIndex(model_name="suppression", name="suppression_address_idx"),
                migrations.AddIndex(
                    model_name="suppression",
                    index=core.indexes.HashIndex(
                        fields=["normalised"], name="suppression_address_hash_idx"
                    ),
                ),
                migrations.AddIndex(
                    model_name="suppression",
                    index=models.Index(
                        condition=models.Q(
                            ("normalised__gte", "sha256:"), ("normalised__lt", "sha256;")
                        ),
                        fields=["normalised"],
                        name="suppression_erased_idx",
                    ),
                ),
            ],
        )
    ]
