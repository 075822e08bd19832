"""`manage.py migrate` as the migrator role when MIGRATION_DATABASE_URL is set.

Production's processes connect as the app role (DATABASE_URL), which owns no table and
cannot create one; the schema belongs to the migrator (`manage.py database_roles`). This is
Django's own migrate, run on the same database with the migrator's credentials, so the
tables it creates belong to the migrator and are granted to the app role by default
privileges. Without MIGRATION_DATABASE_URL (the embedded default, a developer's database)
nothing changes; a test database (another name) is never migrated with them either."""

from __future__ import annotations

from django.conf import settings
from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils.translation import gettext as _


class Command(DjangoMigrate):
    def handle(self, *args, **options):
        migrator = settings.MIGRATION_DATABASE
        connection = connections[options["database"]]
        if (
            not migrator
            or options["database"] != DEFAULT_DB_ALIAS
            or connection.settings_dict["NAME"] != migrator["NAME"]
        ):
            return super().handle(*args, **options)
        saved = {key: connection.settings_dict[key] for key in ("USER", "PASSWORD")}
        connection.close()
        connection.settings_dict.update(USER=migrator["USER"], PASSWORD=migrator["PASSWORD"])
        if options["verbosity"] >= 1:
            self.stdout.write(
                _("Migrating as the database role %(role)s (MIGRATION_DATABASE_URL).")
                % {"role": migrator["USER"]}
            )
        try:
            return super().handle(*args, **options)
        finally:
            connection.close()
            connection.settings_dict.update(saved)
