"""PostgreSQL triggers that make the suppression history, opt-ins, export records and purge
receipts append-only in the database itself (R9, R12): UPDATE and DELETE are refused row by
row, TRUNCATE when the table holds any row. Raw SQL cannot get around the ORM's refusal.
Never run backwards: that would drop the triggers and leave no trace."""

from django.db import migrations

TABLES = [
    "compliance_suppression",
    "compliance_optin",
    "compliance_suppressionexport",
    "compliance_purgereceipt",
]

FUNCTIONS = """
CREATE OR REPLACE FUNCTION compliance_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% of % refused: these records cannot be edited or deleted (R9, R12)',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION compliance_refuse_truncate() RETURNS trigger AS $$
DECLARE
    has_rows boolean;
BEGIN
    -- An empty table loses nothing (test databases are flushed this way).
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I.%I)', TG_TABLE_SCHEMA, TG_TABLE_NAME)
        INTO has_rows;
    IF has_rows THEN
        RAISE EXCEPTION 'TRUNCATE of % refused: these records cannot be deleted (R9, R12)',
            TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # No parameters: the function bodies use % as PL/pgSQL placeholders.
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(FUNCTIONS)
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION compliance_refuse_change()"
        )
        schema_editor.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION compliance_refuse_truncate()"
        )


class Migration(migrations.Migration):
    dependencies = [("compliance", "0002_store_history_optins_exports_imports_purge")]

    operations = [migrations.RunPython(create)]
