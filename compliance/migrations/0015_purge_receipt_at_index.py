"""The purge receipts listed newest first from an index on their time, not by sorting every
receipt on each page. Created IF NOT EXISTS: the migration test that takes compliance back
past the erasure triggers (0009, which never run backwards) marks this one unapplied without
undoing it, and applies it again."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0017_rare_state_indexes"),
        ("compliance", "0014_suppression_list_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "CREATE INDEX IF NOT EXISTS purgereceipt_at_idx "
                    "ON compliance_purgereceipt (at DESC, id DESC)",
                    reverse_sql="DROP INDEX IF EXISTS purgereceipt_at_idx",
                )
            ],
            state_operations=[
                migrations.AddIndex(
                    model_name="purgereceipt",
                    index=models.Index(fields=["-at", "-id"], name="purgereceipt_at_idx"),
                )
            ],
        )
    ]
