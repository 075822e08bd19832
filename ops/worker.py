"""Celery worker metrics, and a task's log context.

Every worker counts its tasks by name and state (received, started, succeeded, failed,
retried, revoked) and times them; with WORKER_METRICS_ADDRESS set it serves them at
http://ADDRESS/metrics from its main process. The pool's child processes run the tasks, so
their figures meet in PROMETHEUS_MULTIPROC_DIR (required with WORKER_METRICS_ADDRESS): a
directory of this worker's own, emptied when the worker starts.

A task sent while answering a request carries the request's id (a message header), so the
task's log lines name the request that started it.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from celery.signals import (
    before_task_publish,
    task_postrun,
    task_prerun,
    task_received,
    task_revoked,
    worker_init,
    worker_ready,
)
from django.conf import settings
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector

from ops.logs import request_id

logger = logging.getLogger(__name__)

TASKS = Counter(
    "backoffice_celery_tasks",
    "Celery tasks by task name and state (received, started, succeeded, failed, retried, revoked)",
    ["task", "state"],
)
# Up to the broker's visibility timeout (15 minutes): a task near it risks running twice.
TASK_SECONDS = Histogram(
    "backoffice_celery_task_duration_seconds",
    "How long Celery tasks ran, by task name and how they ended",
    ["task", "state"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 900),
)
ENDED = {
    "SUCCESS": "succeeded",
    "FAILURE": "failed",
    "RETRY": "retried",
    "REJECTED": "rejected",
    "IGNORED": "ignored",
}

# task id -> (start, the log context's token); one entry per task running in this process.
_running: dict[str, tuple[float, object | None]] = {}


@before_task_publish.connect(dispatch_uid="ops.worker.carry_request_id")
def carry_request_id(headers=None, **kwargs) -> None:
    current = request_id.get()
    if current and headers is not None:
        headers.setdefault("request_id", current)


@task_received.connect(dispatch_uid="ops.worker.count_received")
def count_received(request=None, **kwargs) -> None:
    TASKS.labels(request.name, "received").inc()


@task_prerun.connect(dispatch_uid="ops.worker.task_started")
def task_started(task_id=None, task=None, **kwargs) -> None:
    TASKS.labels(task.name, "started").inc()
    sent_by = getattr(task.request, "request_id", None)
    token = request_id.set(sent_by) if sent_by else None
    _running[task_id] = (time.perf_counter(), token)


@task_postrun.connect(dispatch_uid="ops.worker.task_ended")
def task_ended(task_id=None, task=None, state=None, **kwargs) -> None:
    ended = ENDED.get(state, str(state).lower())
    TASKS.labels(task.name, ended).inc()
    started, token = _running.pop(task_id, (None, None))
    if started is not None:
        TASK_SECONDS.labels(task.name, ended).observe(time.perf_counter() - started)
    if token is not None:
        request_id.reset(token)


@task_revoked.connect(dispatch_uid="ops.worker.count_revoked")
def count_revoked(sender=None, **kwargs) -> None:
    TASKS.labels(getattr(sender, "name", "unknown"), "revoked").inc()


@worker_init.connect(dispatch_uid="ops.worker.clear_metric_files")
def clear_metric_files(**kwargs) -> None:
    """The figures of this worker's previous life go with it (counters restart at 0, which
    Prometheus' rate() expects); this process's own file, open already, stays."""
    if settings.WORKER_METRICS_ADDRESS and settings.PROMETHEUS_MULTIPROC_DIR:
        mine = f"_{os.getpid()}.db"
        for path in Path(settings.PROMETHEUS_MULTIPROC_DIR).glob("*.db"):
            if not path.name.endswith(mine):
                path.unlink(missing_ok=True)


@worker_ready.connect(dispatch_uid="ops.worker.serve_metrics")
def serve_metrics(**kwargs) -> None:
    if not settings.WORKER_METRICS_ADDRESS:
        return
    host, port = settings.WORKER_METRICS_ADDRESS
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
    try:
        start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        # The worker still works; only its figures are missing (and Prometheus says so).
        logger.error("worker metrics: cannot listen on %s:%s: %s", host, port, exc)
        return
    logger.info("worker metrics on http://%s:%s/metrics", host, port)
