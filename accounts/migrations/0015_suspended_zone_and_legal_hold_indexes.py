from django.db import migrations, models


class Migration(migrations.Migration):
    """The suspended accounts' index carries their zone (billing's non-payment lists and the
    scrape read the zones and filter by them from the index alone); legal holds get a partial
    index of their own (the list's "legal hold" filter read every account)."""

    dependencies = [
        ("accounts", "0014_staff_labels"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="account",
            index=models.Index(
                condition=models.Q(("status", "suspended")),
                fields=["id"],
                include=("time_zone",),
                name="account_suspended_zone_idx",
            ),
        ),
        migrations.RemoveIndex(
            model_name="account",
            name="account_suspended_idx",
        ),
        migrations.AddIndex(
            model_name="account",
            index=models.Index(
                condition=models.Q(("legal_hold", True)),
                fields=["username"],
                name="account_legal_hold_idx",
            ),
        ),
    ]
