"""Double opt-in confirmations (R9): a suppressed address that signs up is mailed a link, and
only its click records the opt-in. Compliance officers see them."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from core.roles import grant, revoke

GRANTS = {"Compliance": ["compliance.view_optinconfirmation"]}


def forwards(apps, schema_editor):
    grant(apps, GRANTS)


def backwards(apps, schema_editor):
    revoke(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0009_contact_awaiting_confirmation"),
        ("compliance", "0006_suppression_reason_layouts_mappings"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="OptInConfirmation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("by_job", models.CharField(blank=True, max_length=60)),
                (
                    "address",
                    models.CharField(
                        help_text="The address as posted", max_length=320, verbose_name="address"
                    ),
                ),
                ("normalised", models.CharField(max_length=320, verbose_name="normalised address")),
                ("form_name", models.CharField(max_length=200, verbose_name="sign-up form")),
                ("form_key", models.CharField(max_length=40, verbose_name="form key")),
                ("posted_at", models.DateTimeField(verbose_name="posted at")),
                (
                    "posted_ip",
                    models.GenericIPAddressField(blank=True, null=True, verbose_name="posted from"),
                ),
                (
                    "mail_sent_at",
                    models.DateTimeField(
                        blank=True, null=True, verbose_name="confirmation mail sent at"
                    ),
                ),
                ("mail_error", models.TextField(blank=True, verbose_name="mail error")),
                (
                    "confirmed_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="confirmed at"),
                ),
                (
                    "confirmed_ip",
                    models.GenericIPAddressField(
                        blank=True, null=True, verbose_name="confirmed from"
                    ),
                ),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.account",
                        verbose_name="account",
                    ),
                ),
                (
                    "by_user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "optin",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="confirmation",
                        to="compliance.optin",
                        verbose_name="opt-in recorded",
                    ),
                ),
            ],
            options={
                "verbose_name": "double opt-in confirmation",
                "verbose_name_plural": "double opt-in confirmations",
                "ordering": ["-posted_at", "-id"],
                "indexes": [
                    models.Index(
                        fields=["account", "normalised", "posted_at"], name="optinconf_key_idx"
                    )
                ],
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
