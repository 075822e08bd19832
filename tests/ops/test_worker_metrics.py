"""A real Celery worker serves its task metrics (tasks by state, their durations) and logs
one JSON object per line naming the task and the request that sent it."""

from __future__ import annotations

import json
import urllib.request
import uuid

import pytest

from ops.logs import request_id
from tests.ops.conftest import Scrape
from tests.processes import celery, free_port, process_env, start, stop, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.django_db]


def worker_page(port: int) -> Scrape | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            return Scrape(response.read().decode())
    except OSError:
        return None


def test_a_worker_serves_tasks_by_state_and_duration_and_logs_json(tmp_path, settings):
    from backoffice.celery import app

    # given a worker with two pool processes, serving its metrics, logging JSON
    queue = f"test-{uuid.uuid4().hex[:8]}"
    port = free_port()
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "counter_1.db").write_bytes(b"left by an earlier life")
    env = process_env(
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        WORKER_METRICS_ADDRESS=f"127.0.0.1:{port}",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
        LOG_FORMAT="json",
    )
    log = tmp_path / "worker.log"
    worker = start(
        celery("worker", "-Q", queue, "-c", "2", "-n", f"{queue}@%h", "--without-gossip"),
        env=env,
        log=log,
    )
    try:
        wait_for(lambda: worker_page(port), timeout=60, what="the worker's metrics", logs=(log,))

        # when it runs three tasks, one of which fails, one sent while answering a request
        app.send_task("jobs.run_batch", args=(0,), queue=queue)
        app.send_task("jobs.run_batch", args=(-1,), queue=queue)
        token = request_id.set("req-0000feedbeef")
        try:
            failed = app.send_task("jobs.run_job", kwargs={"name": "no_such_job"}, queue=queue)
        finally:
            request_id.reset(token)

        def counted():
            page = worker_page(port)
            tasks = "backoffice_celery_tasks_total"
            finished = page and (
                page.get(tasks, task="jobs.run_job", state="failed") == 1
                and page.get(tasks, task="jobs.run_batch", state="succeeded") == 2
            )
            return finished and page

        page = wait_for(counted, timeout=60, what="the three tasks counted", logs=(log,))
    finally:
        stop(worker)

    # then tasks are counted by state and timed, across the pool's processes
    tasks = "backoffice_celery_tasks_total"
    assert page.value(tasks, task="jobs.run_batch", state="received") == 2
    assert page.value(tasks, task="jobs.run_batch", state="started") == 2
    assert page.value(tasks, task="jobs.run_batch", state="succeeded") == 2
    assert page.value(tasks, task="jobs.run_job", state="failed") == 1
    durations = "backoffice_celery_task_duration_seconds_count"
    assert page.value(durations, task="jobs.run_batch", state="succeeded") == 2
    assert page.value(durations, task="jobs.run_job", state="failed") == 1
    # the worker's database queries are there too
    assert page.labelled("django_db_execute_total")

    # and every log line after the banner is one JSON object; the failure names its task
    # and the request that sent it
    records = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert records
    failure = [r for r in records if r["level"] == "ERROR" and r.get("task_id") == failed.id]
    assert failure and failure[0]["request_id"] == "req-0000feedbeef"
    assert failure[0]["task_name"] == "jobs.run_job"
    assert "UnknownJob" in failure[0]["exc_info"]
