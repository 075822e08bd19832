"""Helpers for tests that start real processes (worker, beat, the whole system)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    """DATABASE_URL of the database this test runs in, for processes the test starts."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def process_env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"DEBUG": "1", "DATABASE_URL": test_database_url(), "PYTHONUNBUFFERED": "1"})
    env.update(overrides)
    return env


def free_port() -> int:
    """A TCP port nothing listens on now: never a fixed one, which a test running at the same
    moment (another test process of the run, another checkout's run) may hold."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(args: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen:
    handle = log.open("wb")
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )


def celery(*args: str, app: str = "backoffice") -> list[str]:
    return [sys.executable, "-m", "celery", "-A", app, *args]


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode


def wait_for(
    condition: Callable[[], object], *, timeout: float, what: str, logs=(), poll: float = 0.5
) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(poll)
    tails = "\n".join(f"--- {p}\n{Path(p).read_text(errors='replace')[-3000:]}" for p in logs)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{tails}")
