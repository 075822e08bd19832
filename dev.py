#!/usr/bin/env python3
"""Set up and run the back office with nothing but Python 3.11+.

    python3 dev.py run     # virtualenv, install, migrate, demo data, then web + worker + beat
    python3 dev.py test    # virtualenv, install, the whole test suite in two processes
                           # (extra args go to pytest, in one process)

Both create or update `.venv/` first. Without DATABASE_URL / CELERY_BROKER_URL the system runs
on the embedded default (SQLite and a file-based broker under var/); `test` uses PostgreSQL
and Redis on 127.0.0.1 when they answer, and says which it uses.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("BACKOFFICE_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
STAMP = VENV / ".installed"


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def ensure_venv() -> None:
    """Create the virtualenv and install the project, again only when its inputs changed."""
    if sys.version_info < (3, 11):  # noqa: UP036 (dev.py runs on the bare system Python)
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}")
    inputs = hashlib.sha256()
    for name in ("pyproject.toml", "constraints.txt"):
        inputs.update((ROOT / name).read_bytes())
    wanted = inputs.hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted and PYTHON.exists():
        return
    if not PYTHON.exists():
        say(f"creating the virtualenv in {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    say("installing dependencies (pinned by constraints.txt)")
    pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "-c", "constraints.txt", "-e", ".[dev]"], check=True, cwd=ROOT)
    STAMP.write_text(wanted)


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([str(PYTHON), "manage.py", *args], check=True, cwd=ROOT, env=env)


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def run(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="dev.py run")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--worker-metrics-port", type=int, help="where the worker serves its metrics (--port + 1)"
    )
    options = parser.parse_args(argv)
    worker_metrics_port = options.worker_metrics_port or options.port + 1

    ensure_venv()
    env = dict(os.environ)
    env.setdefault("DEBUG", "1")
    env.setdefault("PUBLIC_BASE_URL", f"http://{options.host}:{options.port}")
    env["PYTHONUNBUFFERED"] = "1"
    say("migrating the database")
    manage("migrate", "--noinput", "-v", "0", env=env)
    say("loading demo data (once) and the demo logins")
    manage("seed_demo", env=env)

    # The worker's pool processes count their tasks in a directory of the worker's own, which
    # the worker serves (ops.worker); emptied when the worker starts.
    metrics_dir = Path(env.get("VAR_DIR", ROOT / "var")) / "metrics" / "worker"
    metrics_dir.mkdir(parents=True, exist_ok=True)
    worker_env = {
        **env,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "WORKER_METRICS_ADDRESS": f"{options.host}:{worker_metrics_port}",
    }
    celery = [str(PYTHON), "-m", "celery", "-A", "backoffice"]
    commands = {
        "web": [
            str(PYTHON),
            "manage.py",
            "runserver",
            f"{options.host}:{options.port}",
            "--noreload",
        ],
        "worker": [*celery, "worker", "-l", "INFO", "--concurrency", "2", "-n", "demo@%h"],
        "beat": [*celery, "beat", "-l", "INFO"],
    }
    processes: dict[str, subprocess.Popen] = {}
    for name, command in commands.items():
        processes[name] = subprocess.Popen(
            command, cwd=ROOT, env=worker_env if name == "worker" else env
        )
    base = f"http://{options.host}:{options.port}"
    say(f"admin on {base}/admin/  (Ctrl-C stops web, worker, beat)")
    say(f"health on {base}/healthz (alive) and {base}/readyz (database, broker, beat)")
    say(
        f"metrics on {base}/metrics (from this machine) and the worker's on "
        f"http://{options.host}:{worker_metrics_port}/metrics"
    )

    # The first jobs run at start, so a newcomer sees job runs without waiting for the clock.
    manage("enqueue_jobs", env=env)

    stopping = False

    def stop(signum, frame):  # noqa: ARG001
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for name, process in processes.items():
            if process.poll() is not None:
                say(f"{name} stopped with exit code {process.returncode}; stopping the rest")
                stopping, exit_code = True, 1
                break
        time.sleep(0.5)

    say("stopping web, worker and beat")
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    say("stopped")
    return exit_code


# The whole suite runs in this many pytest processes (pytest-xdist): much of its time is spent
# waiting on PostgreSQL, Redis and the processes the tests start, so two overlap well even on
# two cores. Each process has its own test database and Redis database (tests/conftest.py).
TEST_PROCESSES = 2
# Tests marked `restarts` restart the local PostgreSQL or Redis: they run after the others,
# alone, in one process.
ALONE = "restarts"
# pytest's exit code when it ran no test (nothing collected, or everything deselected).
NO_TESTS = 5


def marker_expression(argv: list[str]) -> tuple[str | None, list[str]]:
    """The -m expression among pytest's arguments (the last one counts, as for pytest), and
    the arguments without it."""
    expression, rest = None, []
    arguments = iter(argv)
    for argument in arguments:
        if argument == "-m":
            expression = next(arguments, "")
        elif argument.startswith("-m") and not argument.startswith("--"):
            expression = argument[2:]
        else:
            rest.append(argument)
    return expression, rest


def asks_for_processes(argv: list[str]) -> bool:
    return any(
        argument in ("-n", "--numprocesses")
        or argument.startswith("--numprocesses=")
        or (argument.startswith("-n") and not argument.startswith("--"))
        for argument in argv
    )


def test(argv: list[str]) -> int:
    ensure_venv()
    env = dict(os.environ)
    env.setdefault("DEBUG", "1")
    if "DATABASE_URL" not in env and reachable("127.0.0.1", 5432):
        env["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/backoffice"
    if "CELERY_BROKER_URL" not in env and reachable("127.0.0.1", 6379):
        env["CELERY_BROKER_URL"] = "redis://127.0.0.1:6379/0"
    database = env.get("DATABASE_URL", "the embedded SQLite default")
    broker = env.get("CELERY_BROKER_URL", "the embedded file broker")
    say(f"testing against {database.split('@')[-1]} and {broker}")
    pytest = [str(PYTHON), "-m", "pytest"]

    if argv and not asks_for_processes(argv):
        # A chosen part of the suite (`dev.py test tests/billing -k R11`) runs as asked, in
        # one process: starting more, each building its own test database, would take longer
        # than the few tests. `-n 2` among the arguments runs it as the whole suite runs.
        return subprocess.run([*pytest, *argv], cwd=ROOT, env=env).returncode

    expression, rest = marker_expression(argv)
    chosen = f"({expression}) and " if expression else ""
    say(f"running the tests in {TEST_PROCESSES} processes, then those marked {ALONE!r} alone")
    # -n and --dist come first, so that the same options among the arguments win. `load`
    # hands each process the tests in pytest-django's order, the transactional ones last:
    # they empty the database behind them, so no other test may follow them in a process
    # (`worksteal` would hand one process's earlier tests to the other).
    parallel = subprocess.run(
        [*pytest, "-n", str(TEST_PROCESSES), "--dist", "load"]
        + ["-m", f"{chosen}not {ALONE}", *rest],
        cwd=ROOT,
        env=env,
    ).returncode
    if parallel not in (0, NO_TESTS):
        # Failed or interrupted: its report stays the last thing printed.
        say(f"not running the tests marked {ALONE!r}: the others did not pass")
        return parallel
    say(f"running the tests marked {ALONE!r}, alone")
    alone = subprocess.run(
        [*pytest, "-m", f"{chosen}{ALONE}", *rest, "-n", "0"], cwd=ROOT, env=env
    ).returncode
    if alone == NO_TESTS:
        # Nothing marked so in this selection: fine if the other phase ran tests.
        say("no test ran" if parallel == NO_TESTS else f"none is marked {ALONE!r} here")
        return parallel
    return alone


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in ("run", "test"):
        print(__doc__.strip())
        return 2
    command, rest = sys.argv[1], sys.argv[2:]
    try:
        return run(rest) if command == "run" else test(rest)
    except subprocess.CalledProcessError as exc:
        print(f"dev.py: {' '.join(map(str, exc.cmd[:4]))} failed (exit {exc.returncode})")
        return exc.returncode or 1


if __name__ == "__main__":
    sys.exit(main())
