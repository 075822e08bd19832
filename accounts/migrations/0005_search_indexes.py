"""Indexes for the account search at a million accounts (PostgreSQL only).

The admin searches usernames and emails by prefix and case-insensitively (UPPER(…) LIKE 'X%',
and UPPER(…) = UPPER('x') from the billing list), and company names by any part
(UPPER(company) LIKE '%X%'). Without these every search reads the whole table; with them the
three conditions are a bitmap OR of three index scans. The company index is a trigram index
(pg_trgm, a trusted extension). Other databases (a newcomer's SQLite) search small tables and
skip them.
"""

from django.db import migrations

INDEXES = [
    "CREATE INDEX IF NOT EXISTS account_username_upper_idx "
    "ON accounts_account (UPPER(username::text) text_pattern_ops)",
    "CREATE INDEX IF NOT EXISTS account_email_upper_idx "
    "ON accounts_account (UPPER(primary_email::text) text_pattern_ops)",
    "CREATE INDEX IF NOT EXISTS account_company_trgm_idx "
    "ON accounts_account USING gin (UPPER(company::text) gin_trgm_ops)",
]
DROP = [
    "DROP INDEX IF EXISTS account_username_upper_idx",
    "DROP INDEX IF EXISTS account_email_upper_idx",
    "DROP INDEX IF EXISTS account_company_trgm_idx",
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for sql in INDEXES:
        schema_editor.execute(sql)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for sql in DROP:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_reasons_roles_schedules")]

    operations = [migrations.RunPython(forwards, backwards)]
