"""Index kinds beyond Django's portable B-tree."""

from __future__ import annotations

from django.contrib.postgres.indexes import HashIndex as PostgresHashIndex
from django.db.models import Index


class HashIndex(PostgresHashIndex):
    """A hash index on PostgreSQL: it answers equality only, and keeps a 4-byte hash code per
    row instead of the whole key, a fraction of a B-tree's size on a long text column. Other
    databases (a newcomer's SQLite) get their plain index under the same name."""

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor != "postgresql":
            return Index.create_sql(self, model, schema_editor, using=using, **kwargs)
        return super().create_sql(model, schema_editor, using=using, **kwargs)
