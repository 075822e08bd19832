"""A suppression keeps the address as received only where it differs from its normalised key
(NULL otherwise): most addresses arrive as their key, and the copy was a sixth of the row.
The column keeps its name (``address``, which the erasure's triggers redact); the field is
``received`` and the model reads it as ``address`` (compliance.models.Suppression.address,
``address_sql`` in SQL), so a row written before, which holds both, reads the same.

Only the NOT NULL goes (a change of the catalogue: no rewrite, no scan, a moment's lock).
Rows already written keep their copy (the history is not rewritten for it); the bytes go
with the next rewrite of the table."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("compliance", "0017_suppression_source_codes")]

    operations = [
        migrations.AlterField(
            model_name="suppression",
            name="address",
            field=models.CharField(
                blank=True,
                db_column="address",
                help_text="The address as received, where it differs from its normalised form",
                max_length=320,
                null=True,
                verbose_name="address as received",
            ),
        ),
        migrations.RenameField(model_name="suppression", old_name="address", new_name="received"),
    ]
