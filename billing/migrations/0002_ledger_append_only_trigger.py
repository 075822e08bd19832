"""PostgreSQL refuses any edit or delete of a ledger entry, also by raw SQL (R12), and any
refund of a prepayment (R5). Other databases (a newcomer's SQLite) rely on the model guard.

Never run backwards: migrating billing back past this migration would drop the triggers and
leave no trace, so it is irreversible."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION billing_ledger_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Truncating an empty ledger loses nothing (test databases are flushed this way).
    IF TG_OP = 'TRUNCATE' AND NOT EXISTS (SELECT 1 FROM billing_ledgerentry) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = 'ledger entries cannot be edited or deleted (R12): ' || TG_OP || ' refused',
        ERRCODE = 'integrity_constraint_violation';
END;
$$;

CREATE OR REPLACE FUNCTION billing_ledger_refuse_prepayment_refund() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM billing_ledgerentry
        WHERE id = NEW.refund_of_id
          AND kind IN ('prepayment_purchase', 'prepaid_consumption', 'forfeiture')
    ) THEN
        RAISE EXCEPTION 'Prepayments are not refundable (R5)'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER billing_ledger_no_update_delete
    BEFORE UPDATE OR DELETE ON billing_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION billing_ledger_refuse_change();
CREATE TRIGGER billing_ledger_no_truncate
    BEFORE TRUNCATE ON billing_ledgerentry
    FOR EACH STATEMENT EXECUTE FUNCTION billing_ledger_refuse_change();
CREATE TRIGGER billing_ledger_no_prepayment_refund
    BEFORE INSERT ON billing_ledgerentry
    FOR EACH ROW WHEN (NEW.kind = 'refund')
    EXECUTE FUNCTION billing_ledger_refuse_prepayment_refund();
"""


def _run(schema_editor, sql: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql)


def forwards(apps, schema_editor):
    _run(schema_editor, FORWARD)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(forwards, elidable=False)]
