"""Billing keeps its own record of when an account's billing closed (its cancellation), instead
of reading the account's timeline: filled in for accounts already closed from the day they
became inactive."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def closed_from_inactive_since(apps, schema_editor):
    BillingProfile = apps.get_model("billing", "BillingProfile")
    Account = apps.get_model("accounts", "Account")
    inactive_since = Account.objects.filter(pk=OuterRef("account_id")).values("inactive_since")[:1]
    BillingProfile.objects.filter(account__status__in=("cancelled", "purged")).update(
        closed_at=Subquery(inactive_since)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0005_ledger_at_index"),
        ("accounts", "0006_retention_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="billingprofile",
            name="closed_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When billing closed with the account's cancellation.",
                null=True,
            ),
        ),
        migrations.RunPython(closed_from_inactive_since, migrations.RunPython.noop),
    ]
