"""Production's database roles (issue 12 item 3, R12): the app role owns no table, so nothing
the application can do, and nobody holding its password can, takes the append-only triggers
down; the migrator owns the schema and runs `migrate`.

The tests create both roles in the test database with `manage.py database_roles` and connect
as the app role, a role that is not a superuser, exactly as production meets the database.
The append-only tables are every model built on core.models.AppendOnlyModel, checked against
the tables that carry a TRUNCATE trigger in the database, so a new one cannot be missed."""

from __future__ import annotations

import inspect
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import StringIO

import psycopg
import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.db.models.signals import pre_migrate

from core.models import AppendOnlyModel
from tests.security.conftest import build_world
from tests.test_configuration import manage

# TRUNCATE's bit in pg_trigger.tgtype.
TRIGGER_ON_TRUNCATE = 32


@dataclass
class Roles:
    migrator: str
    app: str
    password: str
    output: str


def append_only_tables() -> list[str]:
    """Proxies (a view of the suppressions for one purpose) share their model's table."""
    return sorted(
        {
            model._meta.db_table
            for model in apps.get_models()
            if issubclass(model, AppendOnlyModel) and not model._meta.proxy
        }
    )


def tables_with_truncate_triggers() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger "
            "WHERE NOT tgisinternal AND tgtype & %s <> 0",
            [TRIGGER_ON_TRUNCATE],
        )
        return sorted(table for (table,) in cursor.fetchall())


def connect_as(role: str, password: str) -> psycopg.Connection:
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        dbname=settings["NAME"],
        user=role,
        password=password,
        autocommit=True,
    )


@contextmanager
def django_connected_as(role: str, password: str) -> Iterator[None]:
    """The application's own connection, logged in as `role`: what its code does here, it
    does as production's processes do."""
    saved = {key: connection.settings_dict[key] for key in ("USER", "PASSWORD")}
    connection.close()
    connection.settings_dict.update(USER=role, PASSWORD=password)
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


@pytest.fixture
def roles(transactional_db) -> Iterator[Roles]:
    """Both roles, named after the test database (roles belong to the whole server, which
    other test runs share), dropped again at the end."""
    base = re.sub(r"[^a-z0-9_]", "_", connection.settings_dict["NAME"].lower())[:40]
    migrator, app = f"{base}_migrator", f"{base}_app"
    password = secrets.token_urlsafe(24)
    out = StringIO()
    call_command(
        "database_roles",
        migrator=migrator,
        app=app,
        migrator_password=password,
        app_password=password,
        stdout=out,
    )
    yield Roles(migrator=migrator, app=app, password=password, output=out.getvalue())
    # The test database goes back to the superuser the other tests run as.
    with connection.cursor() as cursor:
        for role in (app, migrator):
            cursor.execute(f"REASSIGN OWNED BY {role} TO CURRENT_USER")
            cursor.execute(f"DROP OWNED BY {role}")
            cursor.execute(f"DROP ROLE {role}")


def refusal(conn: psycopg.Connection, statement: str) -> str | None:
    """The database's refusal of `statement`, None if it ran."""
    try:
        conn.execute(statement)
    except psycopg.Error as error:
        return f"{error.sqlstate} {error}"
    return None


def row_counts(tables: list[str]) -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cursor.fetchone()[0]
        return counts


@pytest.mark.postgres
def test_the_append_only_tables_are_the_models_and_the_triggers_alike_R12(db):
    """The list the tests below walk: every AppendOnlyModel, and they are exactly the tables
    with a TRUNCATE trigger in the database (a new append-only model without triggers, or a
    triggered table without the model's guard, fails here)."""
    tables = append_only_tables()

    assert "billing_ledgerentry" in tables and "compliance_suppression" in tables
    assert tables == tables_with_truncate_triggers()


@pytest.mark.postgres
def test_the_app_role_cannot_take_down_any_append_only_table_R12(roles, django_user_model):
    """As production meets them: on every append-only table the app role's DELETE, UPDATE,
    TRUNCATE, ALTER TABLE … DISABLE TRIGGER, DROP TRIGGER and SET session_replication_role are
    refused, while the application's own inserts into all of them work."""
    with django_connected_as(roles.app, roles.password):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_user, rolsuper FROM pg_roles WHERE oid = current_user::regrole"
            )
            assert cursor.fetchone() == (roles.app, False)
        # The application's normal writes: one record of every model, through the ORM.
        build_world(django_user_model)
    tables = append_only_tables()
    before = row_counts(tables)
    assert all(before.values()), f"a table has no row to refuse changing: {before}"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgrelid::regclass::text, tgname FROM pg_trigger "
            "WHERE NOT tgisinternal AND tgrelid::regclass::text = ANY(%s) ORDER BY 1, 2",
            [tables],
        )
        triggers = cursor.fetchall()

    accepted, refusals = [], {}
    with connect_as(roles.app, roles.password) as app:
        assert app.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone() == (False,)
        for table in tables:
            statements = {
                "delete": f"DELETE FROM {table}",
                "update": f"UPDATE {table} SET id = id",
                "truncate": f"TRUNCATE {table} CASCADE",
                "disable trigger": f"ALTER TABLE {table} DISABLE TRIGGER ALL",
                "disable user triggers": f"ALTER TABLE {table} DISABLE TRIGGER USER",
                "drop trigger": "; ".join(
                    f"DROP TRIGGER {name} ON {table}" for t, name in triggers if t == table
                ),
                "replication role": "SET session_replication_role = replica",
                # Had the setting gone through, this DELETE would have skipped the triggers.
                "delete as replica": f"DELETE FROM {table}",
            }
            for what, statement in statements.items():
                refused = refusal(app, statement)
                if refused is None:
                    accepted.append(f"{what} on {table}")
                refusals[what, table] = refused

    assert accepted == []
    for table in tables:
        # The triggers themselves refuse changes (the ledger's message names it alone)...
        for what in ("delete", "update", "delete as replica"):
            assert re.search(r"cannot be (edited or )?deleted|refused", refusals[what, table])
        # ...and the app role lacks the privilege for the rest.
        assert refusals["truncate", table].startswith("42501 permission denied for table")
        assert refusals["disable trigger", table].startswith("42501 must be owner")
        assert refusals["drop trigger", table].startswith("42501 must be owner")
        assert refusals["replication role", table].startswith(
            '42501 permission denied to set parameter "session_replication_role"'
        )
    assert row_counts(tables) == before
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'O' "
            "AND tgrelid::regclass::text = ANY(%s)",
            [tables],
        )
        assert cursor.fetchone()[0] == len(triggers)


@pytest.mark.postgres
def test_the_app_role_owns_nothing_creates_nothing_and_cannot_become_the_migrator(roles):
    with connect_as(roles.app, roles.password) as app:
        owned = app.execute(
            "SELECT count(*) FROM pg_class WHERE relowner = current_user::regrole"
        ).fetchone()
        assert owned == (0,)
        assert refusal(app, "CREATE TABLE mine (id int)").startswith("42501 permission denied")
        assert refusal(app, f"SET ROLE {roles.migrator}").startswith("42501 permission denied")
        assert refusal(app, "CREATE SCHEMA mine").startswith("42501 permission denied")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"
        )
        assert cursor.fetchall() == [(roles.migrator,)]


@pytest.mark.postgres
def test_a_table_a_later_migration_creates_is_granted_to_the_app_role_the_same_way(roles):
    """Default privileges: what the migrator creates, the app role may read and write, and
    may not truncate or alter."""
    with connect_as(roles.migrator, roles.password) as migrator:
        migrator.execute(
            "CREATE TABLE roles_probe (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
            "note text)"
        )
        try:
            with connect_as(roles.app, roles.password) as app:
                app.execute("INSERT INTO roles_probe (note) VALUES ('written by the app')")
                app.execute("UPDATE roles_probe SET note = 'edited'")
                assert app.execute("SELECT note FROM roles_probe").fetchall() == [("edited",)]
                assert refusal(app, "TRUNCATE roles_probe").startswith("42501")
                assert refusal(app, "ALTER TABLE roles_probe ADD COLUMN x int").startswith(
                    "42501 must be owner"
                )
        finally:
            migrator.execute("DROP TABLE roles_probe")


@pytest.mark.postgres
def test_running_the_command_twice_changes_nothing_that_is_right(roles):
    assert f"Role {roles.migrator} created." in roles.output
    assert re.search(r"\((\d+) objects handed over now\)", roles.output).group(1) != "0"
    out = StringIO()

    call_command("database_roles", migrator=roles.migrator, app=roles.app, stdout=out)

    assert f"Role {roles.migrator} already existed, corrected." in out.getvalue()
    assert f"Role {roles.app} already existed, corrected." in out.getvalue()
    assert "(0 objects handed over now)" in out.getvalue()
    with connect_as(roles.app, roles.password) as app:
        # The password given the first time still holds, and so do the privileges.
        assert app.execute("SELECT count(*) FROM billing_ledgerentry").fetchone() == (0,)
        assert refusal(app, "TRUNCATE billing_ledgerentry").startswith("42501")


@pytest.mark.postgres
def test_migrate_connects_as_the_migrator_with_migration_database_url(roles, settings):
    """Production sets DATABASE_URL to the app role and MIGRATION_DATABASE_URL to the
    migrator: `migrate` runs as the migrator, everything else as the app role."""
    settings.MIGRATION_DATABASE = {
        "NAME": connection.settings_dict["NAME"],
        "USER": roles.migrator,
        "PASSWORD": roles.password,
    }
    seen = []

    def who(sender, using, **kwargs):
        with connections[using].cursor() as cursor:
            cursor.execute("SELECT current_user")
            seen.append(cursor.fetchone()[0])

    pre_migrate.connect(who, dispatch_uid="test.who")
    try:
        out = StringIO()
        call_command("migrate", verbosity=1, stdout=out)
    finally:
        pre_migrate.disconnect(dispatch_uid="test.who")

    assert f"Migrating as the database role {roles.migrator}" in out.getvalue()
    assert seen and set(seen) == {roles.migrator}
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] != roles.migrator


@pytest.mark.postgres
def test_migrate_leaves_another_database_alone(settings, db):
    """MIGRATION_DATABASE_URL names production's database: a test database (another name) is
    migrated as before."""
    settings.MIGRATION_DATABASE = {"NAME": "backoffice_elsewhere", "USER": "x", "PASSWORD": ""}
    out = StringIO()

    call_command("migrate", verbosity=1, stdout=out)

    assert "Migrating as" not in out.getvalue()


@pytest.mark.postgres
@pytest.mark.parametrize(
    "options, expected",
    [
        ({"migrator": "same", "app": "same"}, "must differ"),
        ({"app": "Robert'); DROP TABLE x; --"}, "is not a plain PostgreSQL name"),
        ({"schema": "nowhere"}, "the database has no schema 'nowhere'"),
    ],
)
def test_the_command_refuses_what_it_cannot_do_and_changes_nothing(db, options, expected):
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_roles")
        roles_before = cursor.fetchone()[0]

    with pytest.raises(CommandError, match=re.escape(expected) + ".*nothing was changed"):
        call_command("database_roles", **{"migrator_password": "x", "app_password": "x", **options})

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_roles")
        assert cursor.fetchone()[0] == roles_before


@pytest.mark.postgres
def test_the_command_never_demotes_a_superuser_named_as_one_of_the_roles(db):
    superuser = connection.settings_dict["USER"] or "postgres"

    with pytest.raises(CommandError, match="is a superuser.*nothing was changed"):
        call_command("database_roles", app=superuser, migrator_password="x")

    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [superuser])
        assert cursor.fetchone() == (True,)


@pytest.mark.postgres
def test_the_command_refuses_an_app_role_that_is_a_member_of_the_owner(roles):
    """Membership would hand the app role the owner's rights: a direct one the command takes
    away, one through another role it cannot, and refuses the run whole."""
    middle = f"{roles.app}_via"
    with connection.cursor() as cursor:
        cursor.execute(f"GRANT {roles.migrator} TO {roles.app}")
        call_command("database_roles", migrator=roles.migrator, app=roles.app, stdout=StringIO())
        cursor.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", [roles.app, roles.migrator])
        assert cursor.fetchone() == (False,)

        cursor.execute(f"CREATE ROLE {middle} NOLOGIN IN ROLE {roles.migrator}")
        try:
            cursor.execute(f"GRANT {middle} TO {roles.app}")

            with pytest.raises(CommandError, match=f"member of {roles.migrator}.*nothing was"):
                call_command("database_roles", migrator=roles.migrator, app=roles.app)
        finally:
            cursor.execute(f"DROP ROLE {middle}")


@pytest.mark.postgres
def test_the_command_refuses_a_role_that_is_not_a_superuser(roles):
    with django_connected_as(roles.app, roles.password):
        with pytest.raises(CommandError, match="as a superuser.*nothing was changed"):
            call_command("database_roles", migrator=roles.migrator, app=roles.app)


@pytest.mark.parametrize(
    "url, expected",
    [
        ("sqlite:///tmp/x.sqlite3", "is not a PostgreSQL URL"),
        ("postgres://migrator@db:5432/other", "names database 'other'"),
        ("postgres://migrator@elsewhere:5432/backoffice", "names host 'elsewhere'"),
        ("postgres://app@db:5432/backoffice", "must name the migrator role"),
    ],
)
def test_a_migration_database_url_for_another_database_stops_startup(url, expected):
    result = manage(
        "check",
        env_overrides={
            "DEBUG": "1",
            "DATABASE_URL": "postgres://app@db:5432/backoffice",
            "MIGRATION_DATABASE_URL": url,
        },
    )

    assert result.returncode == 2
    assert result.stderr.strip().startswith("configuration error: MIGRATION_DATABASE_URL: ")
    assert expected in result.stderr


# --- migrations that install the triggers never run backwards --------------------------------


def trigger_migrations() -> list:
    """Every migration that installs append-only triggers: it uses core.triggers' operations
    or creates a trigger in SQL of its own."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    found = []
    for migration in loader.disk_migrations.values():
        source = inspect.getsource(inspect.getmodule(migration))
        if re.search(r"CREATE TRIGGER|MakeAppendOnly|AllowErasure", source):
            found.append((migration, source))
    return sorted(found, key=lambda pair: (pair[0].app_label, pair[0].name))


def test_every_migration_that_installs_append_only_triggers_is_irreversible_R12():
    found = trigger_migrations()

    # Each append-only table's triggers come from one of them...
    sources = "\n".join(source for _, source in found)
    assert [t for t in append_only_tables() if t not in sources] == []
    # ...and none of them can be unapplied (Django refuses a migration with any irreversible
    # operation as a whole, and core.apps refuses the plan before anything runs).
    assert [
        f"{m.app_label}.{m.name}"
        for m, _ in found
        if all(operation.reversible for operation in m.operations)
    ] == []


@pytest.mark.postgres
def test_migrating_back_before_any_trigger_migration_is_refused_and_unapplies_nothing_R12(db):
    from django.db.migrations.loader import MigrationLoader as Loader

    graph = Loader(connection).graph
    applied = set(MigrationRecorder(connection).applied_migrations())
    for migration, _ in trigger_migrations():
        parents = [
            p
            for p in graph.node_map[migration.app_label, migration.name].parents
            if p.key[0] == migration.app_label
        ]
        target = parents[0].key[1] if parents else "zero"

        with pytest.raises(CommandError, match="cannot run backwards"):
            call_command("migrate", migration.app_label, target, verbosity=0)

        assert set(MigrationRecorder(connection).applied_migrations()) == applied


def test_check_deploy_warns_when_production_runs_as_the_role_that_migrates():
    production = {
        "DEBUG": "0",
        "SECRET_KEY": "k3y-" + "x7Qp9rZt" * 8,
        "ALLOWED_HOSTS": "backoffice.example.com",
        "DATABASE_URL": "postgres://backoffice@db.internal:5432/backoffice",
    }

    alone = manage("check", "--deploy", env_overrides=production)
    with_migrator = manage(
        "check",
        "--deploy",
        env_overrides={
            **production,
            "MIGRATION_DATABASE_URL": "postgres://migrator@db.internal:5432/backoffice",
        },
    )

    assert "backoffice.W001" in alone.stderr + alone.stdout
    assert "MIGRATION_DATABASE_URL" in alone.stderr + alone.stdout
    assert "backoffice.W001" not in with_migrator.stderr + with_migrator.stdout


def test_the_command_speaks_german_to_german_staff(db):
    from django.utils import translation

    with translation.override("de"), pytest.raises(CommandError) as refused:
        call_command("database_roles", app="Nicht Erlaubt")

    assert "ist kein einfacher PostgreSQL-Name" in str(refused.value)
    assert "nichts wurde geändert" in str(refused.value)
