"""A suspension notice is claimed before the mail server is called and recorded sent after it
accepted (R11): the claim's end, on the billing profile."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0008_names_without_control_characters"),
    ]

    operations = [
        migrations.AddField(
            model_name="billingprofile",
            name="notice_claimed_until",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
