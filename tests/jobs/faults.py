"""Celery workers that fail on purpose, for the crash-consistency tests: start one with
`celery -A tests.jobs.faults worker` and a fault plan in FAULT_PLAN (JSON):

    {"kill_at": 812, "kill_before": false, "drop_at": [95, 1400], "log": "/path/faults.log"}
    {"kill_after_write": 17, "drop_at": [], "log": "/path/faults.log"}

The worker counts the SQL statements it sends, from its first task on. At statement `kill_at`
it kills itself with SIGKILL (after the statement ran, or before it with `kill_before`): the
process is gone at once, mid-transaction or between two transactions, as an OOM kill or a lost
machine would leave it. With `kill_after_write` it dies right after its n-th write that was
committed on its own (outside a transaction): the moment a write and the one meant to go with
it are torn apart, if they were not written in one transaction. Before each statement of
`drop_at` it has PostgreSQL terminate its own connection (pg_terminate_backend, from a second
connection), so that statement fails as it does when the database restarts or a proxy drops
the connection. Each fault is appended to `log` first, so the test knows how many happened.

Everything else is the project's own Celery app, tasks and settings.
"""

from __future__ import annotations

import json
import os
import signal

import psycopg
from celery.signals import task_prerun
from django.db import connection

from backoffice.celery import app

__all__ = ["app"]


class StatementFaults:
    """A database execute wrapper that kills the process or drops its connection at given
    statements."""

    def __init__(self, plan: dict) -> None:
        self.kill_at = plan.get("kill_at")
        self.kill_before = bool(plan.get("kill_before"))
        self.kill_after_write = plan.get("kill_after_write")
        self.writes = 0
        self.drop_at = set(plan.get("drop_at") or ())
        self.log = plan.get("log")
        self.count = 0

    def _record(self, what: str, sql: str) -> None:
        if not self.log:
            return
        with open(self.log, "a") as log:
            log.write(f"{os.getpid()} {what} {self.count} {' '.join(sql.split())[:120]}\n")
            log.flush()
            os.fsync(log.fileno())

    def _kill(self, sql: str) -> None:
        self._record("kill", sql)
        os.kill(os.getpid(), signal.SIGKILL)

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        if self.count in self.drop_at:
            self._record("drop", sql)
            pid = context["connection"].connection.info.backend_pid
            with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as other:
                other.execute("SELECT pg_terminate_backend(%s)", [pid])
        if self.count == self.kill_at and self.kill_before:
            self._kill(sql)
        result = execute(sql, params, many, context)
        if self.count == self.kill_at:
            self._kill(sql)
        if self.kill_after_write and not context["connection"].in_atomic_block:
            if sql.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
                self.writes += 1
                if self.writes == self.kill_after_write:
                    self._kill(sql)
        return result


_installed: list[StatementFaults] = []


@task_prerun.connect
def _install(**kwargs) -> None:
    """Before the first task of this process: wrap the database connection."""
    if _installed or not os.environ.get("FAULT_PLAN"):
        return
    faults = StatementFaults(json.loads(os.environ["FAULT_PLAN"]))
    connection.execute_wrappers.append(faults)
    _installed.append(faults)
