"""Every suppression carries its reason (a one-letter closed choice), set from the source
for the rows already there; imports keep the layouts they were read with, their column
mappings and the rows dated at the import; saved column mappings.

The reasons of existing rows are written once here, the only edit the suppression history
ever gets: the append-only trigger (0003) is switched off for this one statement inside the
migration's transaction, so the table is never writable outside it. Rows of links and imports
were unsubscribes, the default of the new column; only staff entries, complaints and bounces
are rewritten. The covering index is rebuilt after that statement, with the reason included,
so that the hand-over export stays an index-only scan.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from core.roles import grant, revoke

REASON_OF_SOURCE = {"staff": "m", "complaint": "c", "bounce": "b"}
TRIGGER = "compliance_suppression_no_change"
# Whoever imports unsubscribe lists saves and reuses column mappings (never edited: a new
# need is a new mapping).
GRANTS = {
    role: ["compliance.view_suppressionmapping", "compliance.add_suppressionmapping"]
    for role in ("Compliance", "Manager")
}


def reasons_from_sources(apps, schema_editor):
    cases = " ".join(f"WHEN '{s}' THEN '{r}'" for s, r in REASON_OF_SOURCE.items())
    sources = ", ".join(f"'{s}'" for s in REASON_OF_SOURCE)
    postgres = schema_editor.connection.vendor == "postgresql"
    if postgres:
        schema_editor.execute(f"ALTER TABLE compliance_suppression DISABLE TRIGGER {TRIGGER}")
    schema_editor.execute(
        f"UPDATE compliance_suppression SET reason = CASE source {cases} END "
        f"WHERE source IN ({sources})"
    )
    if postgres:
        schema_editor.execute(f"ALTER TABLE compliance_suppression ENABLE TRIGGER {TRIGGER}")


def grant_mappings(apps, schema_editor):
    grant(apps, GRANTS)


def revoke_mappings(apps, schema_editor):
    revoke(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_retention_index"),
        ("compliance", "0005_address_index_manager_view"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="SuppressionMapping",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=80, unique=True)),
                ("address_column", models.CharField(max_length=200)),
                ("status_column", models.CharField(blank=True, max_length=200)),
                (
                    "suppressed_values",
                    models.JSONField(
                        blank=True,
                        default=list,
                        help_text="Values of the status column that mean suppressed",
                    ),
                ),
                ("date_column", models.CharField(blank=True, max_length=200)),
                (
                    "reason",
                    models.CharField(
                        choices=[
                            ("u", "Unsubscribe"),
                            ("b", "Hard bounce"),
                            ("c", "Complaint"),
                            ("m", "Manual"),
                            ("e", "Erasure"),
                        ],
                        default="u",
                        max_length=1,
                    ),
                ),
                ("created_at", models.DateTimeField()),
                ("by_job", models.CharField(blank=True, max_length=60)),
            ],
            options={
                "verbose_name": "column mapping",
                "verbose_name_plural": "column mappings",
                "ordering": ["name"],
            },
        ),
        migrations.AddField(
            model_name="suppression",
            name="reason",
            field=models.CharField(
                choices=[
                    ("u", "Unsubscribe"),
                    ("b", "Hard bounce"),
                    ("c", "Complaint"),
                    ("m", "Manual"),
                    ("e", "Erasure"),
                ],
                default="u",
                max_length=1,
            ),
            preserve_default=False,
        ),
        migrations.RunPython(reasons_from_sources, migrations.RunPython.noop),
        migrations.RemoveIndex(
            model_name="suppression",
            name="suppression_key_at_idx",
        ),
        migrations.AddField(
            model_name="suppressionimport",
            name="because",
            field=models.JSONField(
                blank=True, default=list, help_text="Why that layout: [sentence, its values]"
            ),
        ),
        migrations.AddField(
            model_name="suppressionimport",
            name="chosen_layout",
            field=models.CharField(
                blank=True, help_text="The layout the staff chose at upload, if any", max_length=40
            ),
        ),
        migrations.AddField(
            model_name="suppressionimport",
            name="columns",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="The file's columns and example values (mapping)",
            ),
        ),
        migrations.AddField(
            model_name="suppressionimport",
            name="mapping",
            field=models.JSONField(
                blank=True, help_text="The column mapping the file is read with, if any", null=True
            ),
        ),
        migrations.AddField(
            model_name="suppressionimport",
            name="notices",
            field=models.JSONField(
                blank=True, default=list, help_text="[line, note] of rows dated at the import"
            ),
        ),
        migrations.AlterField(
            model_name="suppressionimport",
            name="layout",
            field=models.CharField(
                blank=True, help_text="The kind of file recognised (a layout's key)", max_length=80
            ),
        ),
        migrations.AlterField(
            model_name="suppressionimport",
            name="status",
            field=models.CharField(
                choices=[
                    ("uploaded", "Uploaded"),
                    ("previewing", "Reading for preview"),
                    ("mapping", "Needs a column mapping"),
                    ("previewed", "Preview ready"),
                    ("importing", "Importing"),
                    ("done", "Imported"),
                    ("refused", "Refused"),
                    ("failed", "Failed"),
                ],
                default="uploaded",
                max_length=12,
            ),
        ),
        migrations.AddIndex(
            model_name="suppression",
            index=models.Index(
                fields=["account", "normalised", "at", "id"],
                include=("source", "reason"),
                name="suppression_key_at_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="suppression",
            constraint=models.CheckConstraint(
                condition=models.Q(("reason__in", ["u", "b", "c", "m", "e"])),
                name="suppression_reason_known",
            ),
        ),
        migrations.AddField(
            model_name="suppressionmapping",
            name="by_user",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(grant_mappings, revoke_mappings),
    ]
