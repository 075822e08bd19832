"""/healthz and /readyz: what a load balancer and an orchestrator ask, answered in
milliseconds and without secrets; and the worker's health command."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ops import health
from ops.services import BEAT, heartbeat_record
from tests.processes import ROOT, free_port, process_env, start, stop, wait_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def beat_heard(db):
    heartbeat_record(name=BEAT, now=timezone.now())


def test_healthz_answers_without_reading_the_database(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"
    assert len(queries) == 0


@pytest.mark.redis
def test_readyz_is_ready_when_database_migrations_broker_and_beat_answer(client, beat_heard):
    response = client.get("/readyz")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ready"
    assert list(body["checks"]) == ["database", "migrations", "broker", "beat"]
    assert all(check["ok"] and check["ms"] < 1000 for check in body["checks"].values())


def test_readyz_fails_when_the_broker_is_down_and_names_no_address(client, settings, beat_heard):
    settings.CELERY_BROKER_URL = "redis://:broker-s3cret@127.0.0.1:1/0"

    response = client.get("/readyz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["broker"]["ok"] is False
    assert checks["broker"]["error"].startswith("unreachable")
    assert checks["database"]["ok"] and checks["beat"]["ok"]
    assert "127.0.0.1" not in response.content.decode()
    assert "s3cret" not in response.content.decode()


def test_readyz_fails_when_beat_was_not_heard_within_its_interval(client, settings):
    settings.READINESS_CHECKS = ["database", "beat"]
    settings.BEAT_SILENT_AFTER = 120
    heartbeat_record(name=BEAT, now=timezone.now() - timedelta(seconds=121))

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["beat"]["error"].startswith("silent for 121 s")


def test_readyz_fails_when_beat_was_never_heard_from(client, settings):
    settings.READINESS_CHECKS = ["beat"]

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["beat"]["error"] == "never heard from"


def test_readyz_fails_while_a_migration_is_not_applied(client, settings, monkeypatch):
    settings.READINESS_CHECKS = ["database", "migrations"]
    on_disk = health._migrations_on_disk()
    monkeypatch.setattr(
        health, "_migrations_on_disk", lambda: on_disk | {("ops", "9999_not_yet_applied")}
    )

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["migrations"]["error"] == (
        "1 migration(s) not applied, first ops.9999_not_yet_applied"
    )


def test_readiness_checks_only_what_readiness_checks_names(client, settings):
    # a web process behind a load balancer: a silent beat does not take the admin offline
    settings.READINESS_CHECKS = ["database", "migrations"]

    response = client.get("/readyz")

    assert response.status_code == 200
    assert list(response.json()["checks"]) == ["database", "migrations"]


def test_a_failing_probe_logs_one_warning_with_the_cause_not_an_error(client, settings, caplog):
    settings.READINESS_CHECKS = ["beat"]

    client.get("/readyz")

    lines = [r for r in caplog.records if r.name == "django.request"]
    assert [(r.levelname, r.getMessage()) for r in lines] == [
        ("WARNING", "Not ready: beat: never heard from")
    ]


# The scheduler closes stale database connections as beat does: a transactional test.
@pytest.mark.django_db(transaction=True)
def test_beat_records_its_heartbeat_as_it_ticks():
    from backoffice.celery import app
    from ops.beat import DatabaseScheduler
    from ops.selectors import heartbeat_at

    scheduler = DatabaseScheduler(app=app)
    before = timezone.now()

    scheduler.tick()

    assert heartbeat_at(name=BEAT) >= before.replace(microsecond=0)


def http_get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except OSError:
        return 0, {}


@pytest.mark.slow
def test_readiness_fails_when_the_database_and_the_broker_are_down_while_health_holds(tmp_path):
    # given a web process whose database and broker do not answer (nothing listens there)
    port = free_port()
    env = process_env(
        DATABASE_URL="postgres://backoffice:db-s3cret@127.0.0.1:1/backoffice",
        CELERY_BROKER_URL="redis://:broker-s3cret@127.0.0.1:2/0",
    )
    log = tmp_path / "web.log"
    # (gunicorn, as in production: runserver would not start without its database)
    web = start(
        [sys.executable, "-m", "gunicorn", "backoffice.wsgi", "-b", f"127.0.0.1:{port}"],
        env=env,
        log=log,
    )
    try:
        # when the orchestrator asks
        wait_for(
            lambda: http_get(f"http://127.0.0.1:{port}/healthz")[0] == 200,
            timeout=60,
            what="the web process to answer /healthz",
            logs=(log,),
        )
        status, body = http_get(f"http://127.0.0.1:{port}/readyz")
    finally:
        stop(web)

    # then the process lives, but it is not ready, and says why without a secret
    assert status == 503
    checks = body["checks"]
    assert checks["database"]["error"].startswith("unreachable")
    assert checks["migrations"]["error"] == "database unreachable"
    assert checks["broker"]["error"].startswith("unreachable")
    assert checks["beat"]["error"] == "database unreachable"
    assert "s3cret" not in json.dumps(body) and "127.0.0.1" not in json.dumps(body)


def worker_health(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "worker_health", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.redis
@pytest.mark.slow
def test_worker_health_command_exits_0_for_a_live_worker_and_1_for_none(tmp_path, settings):
    from tests.processes import celery

    env = process_env(CELERY_BROKER_URL=settings.CELERY_BROKER_URL)
    name = f"health-{tmp_path.name[-12:]}@%h"
    log = tmp_path / "worker.log"
    worker = start(
        celery("worker", "-Q", f"q-{tmp_path.name[-12:]}", "-c", "1", "-n", name, "-l", "INFO"),
        env=env,
        log=log,
    )
    try:
        alive = wait_for(
            lambda: (
                (r := worker_health("--name", name, "--timeout", "2", env=env)).returncode == 0
                and r
            ),
            timeout=60,
            what="the worker to answer a ping",
            logs=(log,),
        )
    finally:
        stop(worker)
    gone = worker_health("--name", name, "--timeout", "1", env=env)

    assert alive.stdout.strip().startswith(f"worker {name.replace('%h', '')}")
    assert "alive" in alive.stdout
    assert gone.returncode == 1
    assert gone.stderr.strip().endswith("no answer within 1 s")
    assert "Traceback" not in gone.stderr
