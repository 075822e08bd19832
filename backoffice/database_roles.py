"""The two PostgreSQL roles production runs with (README, "Database roles").

- The **migrator** owns the schema and everything in it: it runs `migrate` and nothing else.
  An owner may drop or disable triggers, so its password stays with whoever deploys.
- The **app** role is what the web processes, workers and beat connect as. It owns nothing and
  holds only SELECT, INSERT, UPDATE and DELETE on the tables and USAGE on their sequences. So
  it cannot `ALTER TABLE … DISABLE TRIGGER` or drop a trigger (only an owner can), cannot
  TRUNCATE (never granted), cannot `SET session_replication_role` (superusers only) and
  cannot create objects of its own: the append-only triggers (core.triggers) hold against
  everything the application, or anyone holding its password, can do (R12).

`install` creates or corrects both roles in one transaction and may run any number of times:
it hands every table, sequence, view and function of the schema to the migrator (objects a
superuser's earlier `migrate` created), grants the app role what it needs, and sets default
privileges so that every table a later migration creates is granted the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.translation import gettext as _

ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}\Z")
# What the app role may do with a table, and what it must never hold (TRUNCATE empties an
# append-only table in one statement, TRIGGER lets a role create triggers on it, REFERENCES
# is not needed). MAINTAIN (PostgreSQL 17) would let it lock tables for maintenance.
TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
NEVER_GRANTED = ["TRUNCATE", "REFERENCES", "TRIGGER"]
MAINTAIN_SINCE = 170000
SEQUENCE_PRIVILEGES = "USAGE, SELECT"
RESTRICTED = "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"

# Objects of the schema not owned by the migrator, extensions' own members left alone, and
# sequences that belong to a column (identity or serial): they follow their table's owner.
RELATIONS = """
SELECT c.oid::regclass::text, c.relkind
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND c.relowner <> %s::regrole
  AND NOT EXISTS (
      SELECT 1 FROM pg_depend d
      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('e', 'a', 'i')
  )
ORDER BY 1
"""
ROUTINES = """
SELECT p.oid::regprocedure::text
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = %s AND p.proowner <> %s::regrole
  AND NOT EXISTS (
      SELECT 1 FROM pg_depend d
      WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  )
ORDER BY 1
"""
ALTER_RELATION = {
    "r": "TABLE",
    "p": "TABLE",
    "v": "VIEW",
    "m": "MATERIALIZED VIEW",
    "S": "SEQUENCE",
    "f": "FOREIGN TABLE",
}


class RolesError(Exception):
    """The roles cannot be set up as asked; nothing was changed."""


@dataclass
class Outcome:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    handed_over: int = 0
    tables: int = 0


def check_name(name: str, what: str) -> str:
    if not ROLE_NAME.match(name):
        raise RolesError(
            _(
                "%(what)s %(name)r is not a plain PostgreSQL name (lower-case letters, digits "
                "and _, at most 63, not starting with a digit)"
            )
            % {"what": what, "name": name}
        )
    return name


def install(
    connection: BaseDatabaseWrapper,
    *,
    migrator: str,
    app: str,
    migrator_password: str | None,
    app_password: str | None,
    schema: str = "public",
) -> Outcome:
    """Create or correct both roles on the database `connection` is open on. The caller runs
    this in one transaction, connected as a superuser."""
    check_name(migrator, _("the migrator role's name"))
    check_name(app, _("the app role's name"))
    check_name(schema, _("the schema's name"))
    if migrator == app:
        raise RolesError(
            _("the migrator and the app role must differ (both are %(name)r)") % {"name": app}
        )
    if connection.vendor != "postgresql":
        raise RolesError(
            _("database roles are PostgreSQL's; DATABASE_URL points at %(vendor)s")
            % {"vendor": connection.vendor}
        )
    quote = connection.ops.quote_name
    outcome = Outcome()
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
        if not row or not row[0]:
            raise RolesError(
                _(
                    "run this connected as a superuser (DATABASE_URL=postgres://postgres@…): "
                    "it creates roles and hands the schema over"
                )
            )
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
        if cursor.fetchone() is None:
            raise RolesError(_("the database has no schema %(name)r") % {"name": schema})
        for name, password in ((migrator, migrator_password), (app, app_password)):
            _role(connection, cursor, name, password, outcome)
        database = quote(connection.settings_dict["NAME"])
        m, a, s = quote(migrator), quote(app), quote(schema)

        # The app role must not inherit the migrator's ownership through membership.
        cursor.execute(
            "SELECT 1 FROM pg_auth_members WHERE roleid = %s::regrole AND member = %s::regrole",
            [migrator, app],
        )
        if cursor.fetchone():
            cursor.execute(f"REVOKE {m} FROM {a}")

        # CREATE: migrations install trusted extensions (pg_trgm for the search indexes).
        cursor.execute(f"GRANT CONNECT, TEMPORARY, CREATE ON DATABASE {database} TO {m}")
        # TEMPORARY: suppression imports stage their rows in a temporary table.
        cursor.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {a}")
        cursor.execute(f"ALTER SCHEMA {s} OWNER TO {m}")
        # Nobody but the owner creates objects in the schema (PostgreSQL < 15 let everyone).
        cursor.execute(f"REVOKE CREATE ON SCHEMA {s} FROM PUBLIC")
        cursor.execute(f"REVOKE CREATE ON SCHEMA {s} FROM {a}")
        cursor.execute(f"GRANT USAGE ON SCHEMA {s} TO {a}")

        cursor.execute(RELATIONS, [schema, migrator])
        for relation, kind in cursor.fetchall():
            cursor.execute(f"ALTER {ALTER_RELATION[kind]} {relation} OWNER TO {m}")
            outcome.handed_over += 1
        cursor.execute(ROUTINES, [schema, migrator])
        for routine in [r for (r,) in cursor.fetchall()]:
            cursor.execute(f"ALTER ROUTINE {routine} OWNER TO {m}")
            outcome.handed_over += 1

        never = list(NEVER_GRANTED)
        cursor.execute("SHOW server_version_num")
        if int(cursor.fetchone()[0]) >= MAINTAIN_SINCE:
            never.append("MAINTAIN")
        cursor.execute(f"GRANT {TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA {s} TO {a}")
        cursor.execute(f"REVOKE {', '.join(never)} ON ALL TABLES IN SCHEMA {s} FROM {a}")
        cursor.execute(f"GRANT {SEQUENCE_PRIVILEGES} ON ALL SEQUENCES IN SCHEMA {s} TO {a}")
        # Whatever a later migration creates (as the migrator) is granted the same way.
        default = f"ALTER DEFAULT PRIVILEGES FOR ROLE {m} IN SCHEMA {s}"
        cursor.execute(f"{default} GRANT {TABLE_PRIVILEGES} ON TABLES TO {a}")
        cursor.execute(f"{default} REVOKE {', '.join(never)} ON TABLES FROM {a}")
        cursor.execute(f"{default} GRANT {SEQUENCE_PRIVILEGES} ON SEQUENCES TO {a}")

        cursor.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p')",
            [schema],
        )
        outcome.tables = cursor.fetchone()[0]

        # Membership of an owner would give the app role the owner's rights after all.
        cursor.execute(
            "SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND pg_has_role(%s, c.relowner, 'MEMBER') ORDER BY 1",
            [schema, app],
        )
        owners = [owner for (owner,) in cursor.fetchall()]
        if owners:
            raise RolesError(
                _(
                    "%(app)s is a member of %(owners)s, which owns tables of the schema: "
                    "revoke that membership first"
                )
                % {"app": app, "owners": ", ".join(owners)}
            )
    return outcome


def _role(connection, cursor, name: str, password: str | None, outcome: Outcome) -> None:
    """Create the login role `name`, or take away any power it holds beyond logging in."""
    quote = connection.ops.quote_name
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [name])
    row = cursor.fetchone()
    exists = row is not None
    if exists and row[0]:
        # Never demote a superuser someone named by mistake (it may be the one running this).
        raise RolesError(
            _("role %(name)r is a superuser: name a role of its own for the back office")
            % {"name": name}
        )
    if not exists and not password:
        raise RolesError(
            _(
                "role %(name)r does not exist yet: give its password "
                "(DATABASE_MIGRATOR_PASSWORD / DATABASE_APP_PASSWORD)"
            )
            % {"name": name}
        )
    statement = f"{'ALTER' if exists else 'CREATE'} ROLE {quote(name)} LOGIN INHERIT {RESTRICTED}"
    if password:
        # The SCRAM verifier is computed here by libpq, as psql's \password does: the clear
        # password never reaches the server, nor its statement log.
        pgconn = connection.connection.pgconn
        verifier = pgconn.encrypt_password(password.encode(), name.encode(), b"scram-sha-256")
        statement += f" PASSWORD '{verifier.decode('ascii')}'"
    cursor.execute(statement)
    (outcome.updated if exists else outcome.created).append(name)
