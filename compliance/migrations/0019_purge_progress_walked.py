"""Where a big account's purge resumes: per kind, the last id a batch deleted. Added only
when missing: the migration test that takes compliance back past the erasure triggers (0009,
which never run backwards) marks this one unapplied without undoing it, and applies it again."""

from django.db import migrations, models


class AddFieldUnlessThere(migrations.AddField):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        connection = schema_editor.connection
        with connection.cursor() as cursor:
            columns = {
                column.name
                for column in connection.introspection.get_table_description(
                    cursor, model._meta.db_table
                )
            }
        if model._meta.get_field(self.name).column not in columns:
            super().database_forwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0018_suppression_address_as_received"),
    ]

    operations = [
        AddFieldUnlessThere(
            model_name="purgeprogress",
            name="walked",
            field=models.JSONField(
                db_default={},
                default=dict,
                help_text="Per kind, the last id a batch deleted",
                verbose_name="deleted up to",
            ),
        ),
    ]
