"""Contacts that signed up while unsubscribed await their double opt-in (R9). The column has
a database default, so adding it rewrites nothing and bulk loads need not name it."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_names_without_control_characters"),
    ]

    operations = [
        migrations.AddField(
            model_name="contact",
            name="awaiting_confirmation",
            field=models.BooleanField(
                db_default=False,
                default=False,
                help_text="Signed up while unsubscribed: not mailed until the address confirms (R9)",
            ),
        ),
    ]
