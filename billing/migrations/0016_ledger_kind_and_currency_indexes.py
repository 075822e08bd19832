"""The ledger filtered by a kind or currency other than the common ones (a refund, a payment
recorded, a prepaid month, a pound) is read newest first and counted from these partial
indexes: each such page walked the whole time index for its rows and counted by reading every
entry (0.5-0.8 s at 2.8M entries). The common kinds and currencies are left out (a page of
them is near the top of the time index); at the 1M-account data set the kind index is 25 MB
(the prepaid months), the currency index empty."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0015_ledger_attempt_account_id_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(
                condition=models.Q(("kind__in", ("charge", "card_payment")), _negated=True),
                fields=["kind", "-at", "-id"],
                name="billing_ledger_kind_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(
                condition=models.Q(("currency__in", ("USD", "EUR")), _negated=True),
                fields=["currency", "-at", "-id"],
                name="billing_ledger_currency_idx",
            ),
        ),
    ]
