"""Readiness checks (/readyz): the database answers, its migrations are applied, the broker
answers, beat was heard from lately. Each check is timed and says what failed in a few
words, never a host name, a URL or a password; the exception itself goes to the log only.

Which checks decide readiness is READINESS_CHECKS (all four by default): a web process
behind a load balancer may leave out `beat`, so a stopped beat does not take the admin
offline (see README, "Health").
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from celery import current_app as app
from django.conf import settings
from django.db import DatabaseError, connection

from ops.selectors import heartbeat_at
from ops.services import BEAT

# Seconds to wait for the broker: a probe must answer long before its own timeout.
BROKER_TIMEOUT = 1.0
CHECK_NAMES = ("database", "migrations", "broker", "beat")


class Failed(Exception):
    """A check failed: `error` for the answer, `detail` (the cause) for the log."""

    def __init__(self, error: str, detail: object = "") -> None:
        super().__init__(error)
        self.error = error
        self.detail = str(detail) if detail else error


@dataclass(frozen=True)
class Check:
    name: str
    ms: float
    error: str = ""
    detail: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass(frozen=True)
class Readiness:
    checks: list[Check] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failures(self) -> str:
        """The failed checks and their causes, for the log."""
        return "; ".join(f"{check.name}: {check.detail}" for check in self.checks if not check.ok)

    def as_dict(self) -> dict:
        return {
            "status": "ready" if self.ready else "not ready",
            "checks": {
                check.name: {"ok": check.ok, "ms": round(check.ms, 1)}
                | ({"error": check.error} if check.error else {})
                for check in self.checks
            },
        }


def _unreachable(exc: BaseException) -> Failed:
    return Failed(f"unreachable ({type(exc).__name__})", f"{type(exc).__name__}: {exc}")


def database_check(*, now: datetime) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        raise _unreachable(exc) from exc


@functools.cache
def _migrations_on_disk() -> frozenset[tuple[str, str]]:
    """Every migration this process's code has (read from disk once per process)."""
    from django.db.migrations.loader import MigrationLoader

    return frozenset(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)


def migrations_check(*, now: datetime) -> None:
    from django.db.migrations.recorder import MigrationRecorder

    try:
        applied = MigrationRecorder(connection).applied_migrations()
    except DatabaseError as exc:
        raise _unreachable(exc) from exc
    missing = sorted(_migrations_on_disk() - set(applied))
    if missing:
        app, name = missing[0]
        raise Failed(f"{len(missing)} migration(s) not applied, first {app}.{name}")


def broker_check(*, now: datetime) -> None:

    options = {"socket_connect_timeout": BROKER_TIMEOUT, "socket_timeout": BROKER_TIMEOUT}
    try:
        with app.connection_for_write(
            url=settings.CELERY_BROKER_URL, transport_options=options
        ) as conn:
            conn.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT)
    except Exception as exc:  # kombu raises the transport's own errors
        raise _unreachable(exc) from exc


def beat_check(*, now: datetime) -> None:
    try:
        heard = heartbeat_at(name=BEAT)
    except DatabaseError as exc:
        raise _unreachable(exc) from exc
    if heard is None:
        raise Failed("never heard from")
    silent = (now - heard).total_seconds()
    if silent > settings.BEAT_SILENT_AFTER:
        raise Failed(f"silent for {silent:.0f} s (more than {settings.BEAT_SILENT_AFTER} s)")


CHECKS: dict[str, Callable[..., None]] = {
    "database": database_check,
    "migrations": migrations_check,
    "broker": broker_check,
    "beat": beat_check,
}


def readiness(*, now: datetime, names: list[str] | None = None) -> Readiness:
    """Run the checks `names` (READINESS_CHECKS when None), in their fixed order."""
    wanted = settings.READINESS_CHECKS if names is None else names
    checks = []
    database_down = False
    for name in CHECK_NAMES:
        if name not in wanted:
            continue
        started = time.perf_counter()
        error = detail = ""
        try:
            if database_down and name in ("migrations", "beat"):
                # Both read the database: no second wait for what just failed.
                raise Failed("database unreachable")
            CHECKS[name](now=now)
        except Failed as failed:
            error, detail = failed.error, failed.detail
        database_down = database_down or (name == "database" and bool(error))
        ms = (time.perf_counter() - started) * 1000
        checks.append(Check(name=name, ms=ms, error=error, detail=detail))
    return Readiness(checks=checks)
