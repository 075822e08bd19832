"""A suppression's source is stored as one letter (compliance.models.SOURCE_CODES) instead of
its word: "unsubscribe_link" cost 17 bytes a row in the table and again in the covering index
(suppression_key_at_idx), its letter 2. The application keeps the words
(compliance.models.SuppressionSourceField spells them at the database's door).

The rows already written are respelled here, the one change of the history this allows: the
append-only triggers (0003, 0009) are replaced, for the time of the respelling only, by the
same triggers with a condition that lets exactly this through, an UPDATE that changes nothing
but the source, from its word to its letter (``compliance_source_respelled``); any other
UPDATE, and every DELETE, is refused as before. The triggers go back to 0009's at the end.
Each swap is one short transaction, so the table is never without them.

Safe on a big table: the rows are respelled in batches of ``BATCH`` ids, each its own
transaction (row locks on those rows only, readers never wait; writers of the same rows do
not exist, the history is append-only), so suppressions keep being recorded meanwhile. It
respelled 20,000 rows a second on the shared 2-core benchmark machine (every index gets the
row's new version: the source is in the covering index), so 500 million rows take about
seven hours there, and leave the old versions for autovacuum; the bytes come back to the disk at the next rewrite of the table (pg_repack),
new rows take the letter at once. Rows written by the previous release while this runs keep
their word and read the same (the field and the export read either spelling); only a filter
by source misses them, and `migrate` never runs an applied migration again: where that
matters, stop the previous release first. The constraint that ties a fixed source
to its reason is added NOT VALID and validated afterwards (no long lock either).

Cannot run backwards (respelling back would be a second rewrite of the history).
"""

from django.db import migrations, models, transaction

import compliance.models

CODES = {
    "unsubscribe_link": "l",
    "staff": "s",
    "import": "i",
    "complaint": "c",
    "bounce": "b",
    "api": "a",
    "erasure": "e",
}
FIXED = {"unsubscribe_link": "u", "staff": "m", "complaint": "c", "bounce": "b", "erasure": "e"}
BATCH = 50_000
TABLE = "compliance_suppression"

SPELLING = "CASE {column} {whens} END".format(
    column="{column}",
    whens=" ".join(f"WHEN '{word}' THEN '{code}'" for word, code in CODES.items()),
)
WORDS = ", ".join(f"'{word}'" for word in CODES)

# True when `new_row` is `old_row` with nothing changed but its source, from its word to its
# letter. Compared as whole rows once the source is set aside, so a column added later is
# compared too.
RESPELLED = f"""
CREATE OR REPLACE FUNCTION compliance_source_respelled(
    old_row {TABLE}, new_row {TABLE}
) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF new_row.source IS DISTINCT FROM ({SPELLING.format(column="old_row.source")}) THEN
        RETURN false;
    END IF;
    old_row.source := new_row.source;
    RETURN old_row IS NOT DISTINCT FROM new_row;
END $$;
"""
# 0009's triggers, word for word.
ERASURE_ARGS = "'normalised', 'normalised=sha256', 'address=md5'"
STRICT_TRIGGERS = [
    f"DROP TRIGGER IF EXISTS {TABLE}_no_change ON {TABLE}",
    f"DROP TRIGGER IF EXISTS {TABLE}_no_delete ON {TABLE}",
    f"DROP TRIGGER IF EXISTS {TABLE}_erasure_signed_off ON {TABLE}",
    f"CREATE TRIGGER {TABLE}_no_change BEFORE UPDATE OR DELETE ON {TABLE} "
    f"FOR EACH ROW EXECUTE FUNCTION core_refuse_change_but_erasure({ERASURE_ARGS})",
    f"CREATE TRIGGER {TABLE}_erasure_signed_off BEFORE UPDATE ON {TABLE} "
    "FOR EACH ROW EXECUTE FUNCTION compliance_erasure_signed_off()",
]
# The same, but an UPDATE that only respells the source passes (a trigger's condition cannot
# read NEW when it also fires on DELETE: DELETE gets a trigger of its own, refused always).
RESPELLING_TRIGGERS = [
    RESPELLED,
    f"DROP TRIGGER IF EXISTS {TABLE}_no_change ON {TABLE}",
    f"DROP TRIGGER IF EXISTS {TABLE}_no_delete ON {TABLE}",
    f"DROP TRIGGER IF EXISTS {TABLE}_erasure_signed_off ON {TABLE}",
    f"CREATE TRIGGER {TABLE}_no_change BEFORE UPDATE ON {TABLE} FOR EACH ROW "
    "WHEN (NOT compliance_source_respelled(OLD, NEW)) "
    f"EXECUTE FUNCTION core_refuse_change_but_erasure({ERASURE_ARGS})",
    f"CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE ON {TABLE} "
    f"FOR EACH ROW EXECUTE FUNCTION core_refuse_change_but_erasure({ERASURE_ARGS})",
    f"CREATE TRIGGER {TABLE}_erasure_signed_off BEFORE UPDATE ON {TABLE} FOR EACH ROW "
    "WHEN (NOT compliance_source_respelled(OLD, NEW)) "
    "EXECUTE FUNCTION compliance_erasure_signed_off()",
]

NEW_CHECK = "suppression_source_code_reason"
OLD_CHECK = "suppression_source_reason"
CHECK_SQL = "NOT (source IN ({fixed})) OR {pairs}".format(
    fixed=", ".join(f"'{CODES[source]}'" for source in FIXED),
    pairs=" OR ".join(
        f"(source = '{CODES[source]}' AND reason = '{reason}')" for source, reason in FIXED.items()
    ),
)


def _respell_batches(cursor, *, start: int) -> int:
    """Respell the rows from id `start` up to the highest id now; returns the next start."""
    cursor.execute(f"SELECT max(id) FROM {TABLE}")
    (highest,) = cursor.fetchone()
    if highest is None:
        return start
    for low in range(start, highest + 1, BATCH):
        # Autocommit: each batch is its own transaction.
        cursor.execute(
            f"UPDATE {TABLE} SET source = {SPELLING.format(column='source')} "
            f"WHERE id >= %s AND id < %s AND source IN ({WORDS})",
            [low, low + BATCH],
        )
    return highest + 1


def respell(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        # A newcomer's database: no triggers, no size. Its old check stays (the letters pass
        # it); the new one is PostgreSQL's.
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {TABLE} SET source = {SPELLING.format(column='source')} "
                f"WHERE source IN ({WORDS})"
            )
        return
    with connection.cursor() as cursor:
        with transaction.atomic(using=connection.alias):
            for statement in RESPELLING_TRIGGERS:
                cursor.execute(statement)
            cursor.execute(
                "SELECT 1 FROM pg_constraint WHERE conname = %s AND conrelid = %s::regclass",
                [NEW_CHECK, TABLE],
            )
            if cursor.fetchone() is None:
                cursor.execute(
                    f"ALTER TABLE {TABLE} ADD CONSTRAINT {NEW_CHECK} CHECK ({CHECK_SQL}) NOT VALID"
                )
        try:
            start, previous = 0, -1
            # Again while rows come in, up to the highest id when a pass begins.
            while start != previous:
                previous, start = start, _respell_batches(cursor, start=start)
        finally:
            with transaction.atomic(using=connection.alias):
                for statement in STRICT_TRIGGERS:
                    cursor.execute(statement)
        cursor.execute(f"ALTER TABLE {TABLE} VALIDATE CONSTRAINT {NEW_CHECK}")
        cursor.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS {OLD_CHECK}")


class Migration(migrations.Migration):
    # Each batch commits on its own.
    atomic = False

    dependencies = [("compliance", "0016_suppression_address_hash_index")]

    operations = [
        # No reverse: the triggers it swaps never run backwards either (core.apps refuses).
        migrations.RunPython(respell),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(model_name="suppression", name=OLD_CHECK),
                migrations.AddConstraint(
                    model_name="suppression",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            models.Q(
                                (
                                    "source__in",
                                    ["unsubscribe_link", "staff", "complaint", "bounce", "erasure"],
                                ),
                                _negated=True,
                            ),
                            models.Q(("reason", "u"), ("source", "unsubscribe_link")),
                            models.Q(("reason", "m"), ("source", "staff")),
                            models.Q(("reason", "c"), ("source", "complaint")),
                            models.Q(("reason", "b"), ("source", "bounce")),
                            models.Q(("reason", "e"), ("source", "erasure")),
                            _connector="OR",
                        ),
                        name=NEW_CHECK,
                    ),
                ),
            ],
        ),
        migrations.AlterField(
            model_name="suppression",
            name="source",
            field=compliance.models.SuppressionSourceField(
                choices=[
                    ("unsubscribe_link", "Unsubscribe link"),
                    ("staff", "Staff"),
                    ("import", "Import"),
                    ("complaint", "Complaint"),
                    ("bounce", "Bounce"),
                    ("api", "Sending platform"),
                    ("erasure", "Erasure request"),
                ],
                max_length=20,
                verbose_name="source",
            ),
        ),
    ]
