from django.db import migrations, models


class Migration(migrations.Migration):
    """A card charge's purpose is one of a closed list (no change to the table); the rare
    purposes and outcomes get small indexes of their own for the list's filters."""

    dependencies = [
        ("billing", "0012_staff_labels"),
    ]

    operations = [
        migrations.AlterField(
            model_name="cardchargeattempt",
            name="purpose",
            field=models.CharField(
                choices=[
                    ("charge", "Monthly charge"),
                    ("pause_fee", "Pause fee"),
                    ("renewal", "Prepaid renewal"),
                    ("purchase", "Prepaid term bought"),
                ],
                max_length=20,
                verbose_name="purpose",
            ),
        ),
        migrations.AddIndex(
            model_name="cardchargeattempt",
            index=models.Index(
                condition=models.Q(("purpose", "charge"), _negated=True),
                fields=["purpose", "-at", "-id"],
                name="billing_attempt_purpose_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="cardchargeattempt",
            index=models.Index(
                condition=models.Q(("outcome", "succeeded"), _negated=True),
                fields=["outcome", "-at", "-id"],
                name="billing_attempt_outcome_idx",
            ),
        ),
    ]
