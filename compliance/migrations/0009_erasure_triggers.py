"""The one audited redaction of suppressions (SPEC "Erasure requests"), and nothing else.

The suppression history, the opt-ins and the export records stay append-only in PostgreSQL:
DELETE and TRUNCATE are refused as before (migration 0003), and so is every UPDATE, except
one an erasure request makes while it is carried out. Two triggers must both let it through:

1. ``{table}_no_change`` (core.triggers.AllowErasure, replacing 0003's): the transaction
   carries the erasure mark, the setting ``backoffice.erasure`` set for this transaction only
   by ``core.erasure.erasure_mark`` and naming this very transaction's id; and each changed
   column only redacts the address the mark names: in a row of that address, ``normalised``
   becomes "sha256:" and the SHA-256 of it, ``address`` "md5:" and its MD5, a text column
   "[erased]"; in any other row only occurrences of the address become "[erased]".
2. ``{table}_erasure_signed_off`` (below): the erasure request the mark names exists, is
   being carried out ("erasing": a status that exists only inside the transaction that
   carries it out, which ends it as "done"), was signed off by someone other than the officer
   who recorded it, names the same address, and covers the row's account.

Why a mark the application cannot fake by accident: no code path but the erasure workflow
sets that setting, a mark names one transaction's id and dies with it (a copied value names
another transaction), and the request it names must be signed off by a second person and be
mid-erasure in the database itself. A stray UPDATE, a bulk admin action, a shell, a data
migration has none of it and is refused like before. (A database owner can still drop the
triggers: that leaves a trace in the schema, as it always did.)

Also makes the reports of the sending platform and the providers (SuppressionReport)
append-only, and adds ``compliance_sha256(text)`` with an index of the opt-ins on it: R9's
rule (compliance.selectors.in_force_sql) lets an opt-in recorded in clear lift an erased
event, found through that index by the account and the hash. Cannot run backwards.
"""

from django.db import migrations

import core.triggers

HASHED = {"normalised": "sha256", "address": "md5"}
SIGNED_OFF_TABLES = [
    "compliance_suppression",
    "compliance_optin",
    "compliance_suppressionexport",
]

SIGNED_OFF = """
CREATE OR REPLACE FUNCTION compliance_erasure_signed_off() RETURNS trigger AS $$
DECLARE
    mark jsonb;
    signed_off boolean := false;
BEGIN
    BEGIN
        mark := nullif(current_setting('backoffice.erasure', true), '')::jsonb;
        SELECT EXISTS (
            SELECT 1 FROM compliance_erasurerequest r
            WHERE r.id = (mark->>'request')::bigint
              AND r.status = 'erasing'
              AND r.decided_by_id IS NOT NULL
              AND r.decided_by_id <> r.requested_by_id
              AND r.normalised = mark->>'key'
              AND (r.account_id IS NULL OR r.account_id = NEW.account_id)
        ) INTO signed_off;
    EXCEPTION WHEN data_exception THEN
        signed_off := false;
    END;
    IF NOT coalesce(signed_off, false) THEN
        RAISE EXCEPTION 'UPDATE of % refused: these records cannot be edited or deleted '
            '(R9, R12); only an erasure request signed off by a second Compliance officer '
            'redacts them', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
"""


SHA256_FUNCTION = """
CREATE OR REPLACE FUNCTION compliance_sha256(value text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    -- Immutable: the database's encoding is UTF-8 for good.
    RETURN encode(sha256(convert_to(value, 'UTF8')), 'hex');
END $$;
CREATE INDEX IF NOT EXISTS optin_account_sha256_idx
    ON compliance_optin (account_id, compliance_sha256(normalised));
"""


def erased_optin_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(SHA256_FUNCTION)


def signed_off_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # No parameters: the function body uses % as PL/pgSQL placeholders.
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(SIGNED_OFF)
    for table in SIGNED_OFF_TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_erasure_signed_off ON {table}")
        schema_editor.execute(
            f"CREATE TRIGGER {table}_erasure_signed_off BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION compliance_erasure_signed_off()"
        )


class Migration(migrations.Migration):
    dependencies = [("compliance", "0008_reports_erasure_complaints")]

    operations = [
        core.triggers.MakeAppendOnly(table="compliance_suppressionreport"),
        core.triggers.AllowErasure(
            table="compliance_suppression", key_column="normalised", hashed=HASHED
        ),
        core.triggers.AllowErasure(
            table="compliance_optin", key_column="normalised", hashed=HASHED
        ),
        core.triggers.AllowErasure(table="compliance_suppressionexport"),
        migrations.RunPython(signed_off_triggers),
        migrations.RunPython(erased_optin_index),
    ]
