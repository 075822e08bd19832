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


# --- The one audited redaction: erasure requests (SPEC "Erasure requests") -------------------
#
# An erasure request may redact the records of one address; nothing else may change them. The
# function below replaces ``core_refuse_change`` on the tables that can hold an address. It
# refuses DELETE as before, and an UPDATE unless all of this holds:
#
# - the transaction carries the erasure mark: the setting ``backoffice.erasure``, set for this
#   transaction only (``set_config(..., true)``) by ``core.erasure.erasure_mark``, names this
#   very transaction's id (``pg_current_xact_id()``). A stray UPDATE, a migration, a shell, an
#   admin action has no such mark: the mark of another transaction, or a copied one, names
#   another id. Nothing in the application sets it but the erasure workflow;
# - every changed column is a redaction of the mark's address: a text column whose new value
#   is the old one with each form of the address (any case) replaced by "[erased]" (or, in a
#   row of the address itself, "[erased]" alone); a hashed column (trigger arguments
#   "column=sha256" / "column=md5") of a row whose key column holds the address, set to
#   "sha256:<hex>" / "md5:<hex>" of it. Any other change of any column is refused.
#
# Tables whose records R9 protects add a second trigger (compliance migration 0009) that also
# asks for the erasure request the mark names: signed off by a second Compliance officer and
# being carried out in this transaction.

ERASURE_FUNCTION = r"""
CREATE OR REPLACE FUNCTION core_refuse_change_but_erasure() RETURNS trigger AS $$
DECLARE
    mark jsonb;
    old_row jsonb;
    new_row jsonb;
    col text;
    old_value jsonb;
    new_value jsonb;
    hashed jsonb := '{}';
    pattern text;
    address text;
    key_row boolean;
    expected text;
    i integer;
BEGIN
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION '% of % refused: these records cannot be edited or deleted (R12)',
            TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
    END IF;
    BEGIN
        mark := nullif(current_setting('backoffice.erasure', true), '')::jsonb;
    EXCEPTION WHEN others THEN
        mark := NULL;
    END;
    IF mark IS NULL OR mark->>'xact' IS DISTINCT FROM pg_current_xact_id()::text THEN
        RAISE EXCEPTION '% of % refused: these records cannot be edited or deleted (R12)',
            TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
    END IF;
    address := mark->>'key';
    -- Each form of the address, every character that is not a letter or digit escaped.
    SELECT string_agg(regexp_replace(form, '([^[:alnum:]])', '\\\1', 'g'), '|')
        INTO pattern FROM jsonb_array_elements_text(mark->'forms') AS form;
    FOR i IN 1 .. TG_NARGS - 1 LOOP
        hashed := hashed || jsonb_build_object(
            split_part(TG_ARGV[i], '=', 1), split_part(TG_ARGV[i], '=', 2));
    END LOOP;
    old_row := to_jsonb(OLD);
    new_row := to_jsonb(NEW);
    key_row := TG_NARGS > 0 AND TG_ARGV[0] <> '' AND lower(old_row->>TG_ARGV[0]) = address;
    FOR col, old_value IN SELECT * FROM jsonb_each(old_row) LOOP
        new_value := new_row -> col;
        CONTINUE WHEN new_value IS NOT DISTINCT FROM old_value;
        IF hashed ? col THEN
            expected := CASE hashed->>col
                WHEN 'sha256' THEN 'sha256:' || encode(sha256(convert_to(address, 'UTF8')), 'hex')
                ELSE 'md5:' || md5(address) END;
            CONTINUE WHEN key_row AND new_value #>> '{}' = expected;
        ELSIF jsonb_typeof(old_value) = 'string' AND jsonb_typeof(new_value) = 'string' THEN
            CONTINUE WHEN key_row AND new_value #>> '{}' = '[erased]';
            CONTINUE WHEN pattern IS NOT NULL AND new_value #>> '{}'
                = regexp_replace(old_value #>> '{}', pattern, '[erased]', 'gi');
        END IF;
        RAISE EXCEPTION 'UPDATE of %.% refused: only the redaction of the address an erasure '
            'request names is allowed (R12)', TG_TABLE_NAME, col
            USING ERRCODE = 'insufficient_privilege';
    END LOOP;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
"""


class AllowErasure(Operation):
    """Let the erasure workflow, and only it, redact the address an erasure request names in
    `table` (see ``ERASURE_FUNCTION``): `key_column` holds a row's address key, `hashed` maps
    columns to the hash ("sha256" or "md5") they keep of it. DELETE and TRUNCATE stay refused.
    Irreversible, like ``MakeAppendOnly``."""

    reversible = False
    reduces_to_sql = False

    def __init__(self, table: str, key_column: str = "", hashed: dict | None = None) -> None:
        self.table = table
        self.key_column = key_column
        self.hashed = dict(hashed or {})

    def deconstruct(self):
        kwargs = {"table": self.table, "key_column": self.key_column, "hashed": self.hashed}
        return (self.__class__.__qualname__, [], kwargs)

    def state_forwards(self, app_label, state) -> None:
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        no_change, _no_truncate = trigger_names(self.table)
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(ERASURE_FUNCTION)
        arguments = ", ".join(
            f"'{value}'"
            for value in [self.key_column, *(f"{c}={h}" for c, h in self.hashed.items())]
        )
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {no_change} ON {self.table}")
        schema_editor.execute(
            f"CREATE TRIGGER {no_change} BEFORE UPDATE OR DELETE ON {self.table} "
            f"FOR EACH ROW EXECUTE FUNCTION core_refuse_change_but_erasure({arguments})"
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        raise IrreversibleError(IRREVERSIBLE.format(table=self.table))

    def describe(self) -> str:
        return f"Let erasure requests, and nothing else, redact an address in {self.table}"
