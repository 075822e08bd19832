"""The staff's suppression lists at the scale of hundreds of millions of rows: a partial index
of the rare reasons (complaints, manual entries, erasures) by date, for their lists and the
complaints of the last days; and the reason a link, staff entry, complaint, bounce or erasure
implies, held by the database, so that a list of one of these sources is its reason's list.
Every row already written keeps to it (migration 0006 set the reasons from the sources)."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0014_staff_labels"),
        ("compliance", "0013_staff_labels"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="suppression",
            index=models.Index(
                condition=models.Q(("reason__in", ["c", "m", "e"])),
                fields=["reason", "at", "id"],
                name="suppression_rare_reason_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="suppression",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        (
                            "source__in",
                            ["unsubscribe_link", "staff", "complaint", "bounce", "erasure"],
                        ),
                        _negated=True,
                    ),
                    models.Q(("reason", "u"), ("source", "unsubscribe_link")),
                    models.Q(("reason", "m"), ("source", "staff")),
                    models.Q(("reason", "c"), ("source", "complaint")),
                    models.Q(("reason", "b"), ("source", "bounce")),
                    models.Q(("reason", "e"), ("source", "erasure")),
                    _connector="OR",
                ),
                name="suppression_source_reason",
            ),
        ),
    ]
