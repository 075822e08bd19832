"""A card charge in flight is written on the billing profile before the gateway is called and
cleared when its outcome is recorded (no gateway call under row locks; a crash leaves it
visible and resumable). A declined card's next retry day is kept too, counted from the last
attempt (R11): filled in for accounts waiting for a retry from the schedule they were on.
Billing profiles leave room in their pages for the claim (PostgreSQL fillfactor)."""

from datetime import timedelta

from django.conf import settings
from django.db import migrations, models


def retry_day_from_first_decline(apps, schema_editor):
    BillingProfile = apps.get_model("billing", "BillingProfile")
    retry_days = sorted(int(d) for d in getattr(settings, "CARD_RETRY_DAYS", [1, 3, 5]))
    if not retry_days:
        return
    waiting = BillingProfile.objects.filter(
        card_declines__gt=0, first_declined_on__isnull=False, unpaid_since__isnull=True
    )
    for declines in waiting.values_list("card_declines", flat=True).distinct():
        offset = retry_days[min(declines, len(retry_days)) - 1]
        for pk, first in waiting.filter(card_declines=declines).values_list(
            "pk", "first_declined_on"
        ):
            BillingProfile.objects.filter(pk=pk).update(retry_on=first + timedelta(days=offset))


def room_for_the_claim(apps, schema_editor):
    """The run writes each due profile twice (the claim, then the record): room left in each
    page lets the claim, which touches no indexed column, be a HOT update."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE billing_billingprofile SET (fillfactor = 85)")


def no_room_for_the_claim(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE billing_billingprofile RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_retention_index"),
        ("billing", "0009_suspension_notice_claim"),
    ]

    operations = [
        migrations.AddField(
            model_name="billingprofile",
            name="charge_amount",
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True),
        ),
        migrations.AddField(
            model_name="billingprofile",
            name="charge_claim",
            field=models.CharField(blank=True, max_length=48),
        ),
        migrations.AddField(
            model_name="billingprofile",
            name="charge_claimed_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="billingprofile",
            name="charge_currency",
            field=models.CharField(blank=True, max_length=3),
        ),
        migrations.AddField(
            model_name="billingprofile",
            name="charge_key",
            field=models.CharField(
                blank=True,
                help_text="Idempotency key of a card charge sent to the gateway whose outcome "
                "is not recorded yet; empty when none is in flight.",
                max_length=120,
            ),
        ),
        migrations.AddField(
            model_name="billingprofile",
            name="charge_period",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="billingprofile",
            name="charge_purpose",
            field=models.CharField(blank=True, max_length=20),
        ),
        migrations.AddField(
            model_name="billingprofile",
            name="retry_on",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.RunPython(retry_day_from_first_decline, migrations.RunPython.noop),
        migrations.RunPython(room_for_the_claim, no_room_for_the_claim),
    ]
