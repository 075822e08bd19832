from django.db import migrations, models


class Migration(migrations.Migration):
    """The suspensions' index carries the profile's key too: the "suspended, days unpaid" list
    finds a page's keys, and counts, from indexes alone."""

    dependencies = [
        ("accounts", "0015_suspended_zone_and_legal_hold_indexes"),
        ("billing", "0013_charge_purpose_choices_and_rare_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="billingprofile",
            index=models.Index(
                condition=models.Q(("suspended_at__isnull", False)),
                fields=["suspended_at"],
                include=("account", "id"),
                name="billing_suspended_keys_idx",
            ),
        ),
        migrations.RemoveIndex(
            model_name="billingprofile",
            name="billing_profile_suspended_idx",
        ),
    ]
