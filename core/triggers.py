"""Append-only tables in PostgreSQL itself (R12): a migration operation that installs triggers
refusing UPDATE and DELETE of any row and TRUNCATE of a table that holds rows, so raw SQL
cannot get around the ORM's refusal (core.models.AppendOnlyModel).

The operation cannot be reversed: `migrate app 0001` refuses to run backwards over it instead
of dropping the triggers and leaving no trace. Other databases (a newcomer's SQLite) rely on the
ORM's refusal."""

from __future__ import annotations

from django.db.migrations.exceptions import IrreversibleError
from django.db.migrations.operations.base import Operation

REFUSE_FUNCTIONS = """
CREATE OR REPLACE FUNCTION core_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% of % refused: these records cannot be edited or deleted (R12)',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION core_refuse_truncate() RETURNS trigger AS $$
DECLARE
    has_rows boolean;
BEGIN
    -- An empty table loses nothing.
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I.%I)', TG_TABLE_SCHEMA, TG_TABLE_NAME)
        INTO has_rows;
    IF has_rows THEN
        RAISE EXCEPTION 'TRUNCATE of % refused: these records cannot be edited or deleted (R12)',
            TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;
"""

IRREVERSIBLE = (
    "the append-only triggers on {table} are never removed (R12): this migration does not "
    "run backwards"
)


def trigger_names(table: str) -> tuple[str, str]:
    return f"{table}_no_change", f"{table}_no_truncate"


class MakeAppendOnly(Operation):
    """Refuse UPDATE, DELETE and TRUNCATE (of a table with rows) on `table`, for good."""

    reversible = False
    reduces_to_sql = False

    def __init__(self, table: str) -> None:
        self.table = table

    def deconstruct(self):
        return (self.__class__.__qualname__, [], {"table": self.table})

    def state_forwards(self, app_label, state) -> None:
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        no_change, no_truncate = trigger_names(self.table)
        # No parameters: the function bodies use % as PL/pgSQL placeholders.
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(REFUSE_FUNCTIONS)
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {no_change} ON {self.table}")
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {no_truncate} ON {self.table}")
        schema_editor.execute(
            f"CREATE TRIGGER {no_change} BEFORE UPDATE OR DELETE ON {self.table} "
            "FOR EACH ROW EXECUTE FUNCTION core_refuse_change()"
        )
        schema_editor.execute(
            f"CREATE TRIGGER {no_truncate} BEFORE TRUNCATE ON {self.table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION core_refuse_truncate()"
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        raise IrreversibleError(IRREVERSIBLE.format(table=self.table))

    def describe(self) -> str:
        return f"Make {self.table} append-only (UPDATE, DELETE and TRUNCATE refused)"
