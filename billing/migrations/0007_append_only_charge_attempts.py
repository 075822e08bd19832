"""Card charge attempts are append-only in PostgreSQL too, like the ledger (R12)."""

from django.db import migrations

import core.triggers


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0006_billing_closed_at"),
        ("core", "0001_change_log"),
    ]

    operations = [core.triggers.MakeAppendOnly(table="billing_cardchargeattempt")]
