"""`manage.py database_roles`: create or correct the migrator and the app role production
runs with (backoffice.database_roles; README, "Database roles"). Run it connected as a
superuser, once at installation and again whenever you like: it changes nothing that is
already right.

Passwords come from DATABASE_MIGRATOR_PASSWORD and DATABASE_APP_PASSWORD (or the options,
which other users of the machine may see in the process list); an existing role keeps its
password when none is given."""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.utils.translation import gettext as _

from backoffice.database_roles import RolesError, install


class Command(BaseCommand):
    help = (
        "Create or correct the PostgreSQL roles: a migrator that owns the schema and runs "
        "migrate, and an app role that owns nothing and cannot disable the append-only triggers."
    )

    def add_arguments(self, parser):
        parser.add_argument("--migrator", default="backoffice_migrator", help="migrator role")
        parser.add_argument("--app", default="backoffice_app", help="the application's role")
        parser.add_argument("--schema", default="public", help="the schema the tables live in")
        parser.add_argument(
            "--migrator-password",
            help="default: DATABASE_MIGRATOR_PASSWORD (visible in the process list if given here)",
        )
        parser.add_argument(
            "--app-password",
            help="default: DATABASE_APP_PASSWORD (visible in the process list if given here)",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="database alias")

    def handle(self, *args, **options):
        connection = connections[options["database"]]
        migrator, app = options["migrator"], options["app"]
        try:
            with transaction.atomic(using=connection.alias):
                outcome = install(
                    connection,
                    migrator=migrator,
                    app=app,
                    migrator_password=options["migrator_password"]
                    or os.environ.get("DATABASE_MIGRATOR_PASSWORD"),
                    app_password=options["app_password"] or os.environ.get("DATABASE_APP_PASSWORD"),
                    schema=options["schema"],
                )
        except RolesError as error:
            raise CommandError(_("%(problem)s; nothing was changed") % {"problem": error}) from None
        except DatabaseError as error:
            raise CommandError(
                _("the database refused: %(error)s; nothing was changed")
                % {"error": str(error).strip()}
            ) from None

        for name in outcome.created:
            self.stdout.write(_("Role %(role)s created.") % {"role": name})
        for name in outcome.updated:
            self.stdout.write(_("Role %(role)s already existed, corrected.") % {"role": name})
        self.stdout.write(
            _(
                "%(role)s owns the schema %(schema)s and everything in it "
                "(%(count)d objects handed over now); it runs migrate (MIGRATION_DATABASE_URL)."
            )
            % {"role": migrator, "schema": options["schema"], "count": outcome.handed_over}
        )
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "%(role)s reads and writes %(count)d tables and owns none: it cannot "
                    "truncate them, disable their triggers or set session_replication_role. "
                    "Tables later migrations create are granted to it the same way."
                )
                % {"role": app, "count": outcome.tables}
            )
        )
