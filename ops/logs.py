"""Log lines: plain text (the default) or one JSON object per line (`LOG_FORMAT=json`), each
naming what it belongs to: the request (its id, the staff user), the job run and batch, the
Celery task.

A client error (403, 404, 400) is one line without a traceback: it is the client's mistake
or an attacker's probe, and a traceback per line would bury the errors that need someone.
Django's own handlers (a second console copy under DEBUG, mail to ADMINS) are replaced by the
one console handler; errors are reported by Sentry when SENTRY_DSN is set (ops.sentry).

Imported by settings: nothing here touches models or settings at import time.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from jobs.registry import current_batch, current_run

# The request being answered in this thread, and its id (set by ops.middleware).
current_request: ContextVar[Any] = ContextVar("current_request", default=None)
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# A request id a proxy sent (X-Request-ID) is kept when it looks like one; anything else
# (too long, odd characters that could forge log fields) is replaced by our own.
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
PLAIN = "%(asctime)s %(levelname)s %(name)s %(message)s"
# Fields of a JSON line, in this order; a field without a value is left out.
CONTEXT_FIELDS = (
    "request_id",
    "staff_user",
    "job_run_id",
    "job_batch_id",
    "task_id",
    "task_name",
    "status_code",
)
# Extras Django passes that are objects, not facts (the request, runserver's socket).
DROPPED = ("request", "server_time")


def request_id_from(header: str | None) -> str:
    if header and REQUEST_ID.match(header):
        return header
    return uuid.uuid4().hex


def _staff_user(request) -> str | None:
    user = getattr(request, "user", None)
    if user is None:
        return None
    try:
        return user.get_username() if user.is_authenticated else None
    except Exception:  # the database away while the session is read: the line still goes
        return None


def _task() -> tuple[str | None, str | None]:
    from celery import current_task

    if not current_task or current_task.request.id is None:
        return None, None
    return current_task.request.id, current_task.name


class ContextFilter(logging.Filter):
    """Adds the request id, staff user, job run and batch ids and Celery task to a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        # django.request hands the request along (also after the middleware has finished).
        request = getattr(record, "request", None)
        if not hasattr(request, "META"):
            request = current_request.get()
        record.request_id = getattr(request, "request_id", None) or request_id.get()
        record.staff_user = _staff_user(request) if request is not None else None
        record.job_run_id = current_run.get()
        batch = current_batch.get()
        record.job_batch_id = batch.batch_id if batch is not None else None
        record.task_id, record.task_name = _task()
        return True


class ClientErrorsInOneLine(logging.Filter):
    """A response under 500 that Django logs with its exception (PermissionDenied, Http404,
    SuspiciousOperation) is logged as its one line, without the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and status < 500:
            record.exc_info = None
            record.exc_text = None
        return True


class JsonLineFormatter(JsonFormatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the context
    fields that have a value, any extras, and the traceback as one string."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        super().__init__("%(levelname)s %(name)s %(message)s", *args, **kwargs)

    def add_fields(self, log_data: dict, record: logging.LogRecord, message_dict: dict) -> None:
        log_data["time"] = datetime.fromtimestamp(record.created, UTC).isoformat(
            timespec="milliseconds"
        )
        super().add_fields(log_data, record, message_dict)

    def process_log_record(self, log_data: dict) -> dict:
        for key in DROPPED:
            log_data.pop(key, None)
        for key in CONTEXT_FIELDS:
            if log_data.get(key) is None:
                log_data.pop(key, None)
        return log_data


def logging_config(*, fmt: str, level: str) -> dict:
    """The LOGGING setting for LOG_FORMAT `fmt` ("plain" or "json") at LOG_LEVEL `level`."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": "ops.logs.ContextFilter"},
            "client_errors": {"()": "ops.logs.ClientErrorsInOneLine"},
        },
        "formatters": {
            "plain": {"format": PLAIN},
            "json": {"()": "ops.logs.JsonLineFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": fmt,
                "filters": ["context", "client_errors"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # No handler of its own (Django's default adds a console copy under DEBUG and
            # mail to ADMINS): its lines reach the root's handler once.
            "django": {"handlers": [], "level": "INFO", "propagate": True},
            # runserver's request lines, in the same format as every other line.
            "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "django.db.backends": {"level": "WARNING"},
            # django-axes announces itself at INFO on every start-up; lockouts are WARNING.
            "axes": {"level": "WARNING"},
        },
    }


def celery_setup_logging(**kwargs) -> None:
    """Celery's `setup_logging` signal: workers and beat log through LOGGING (the same format
    as the web) instead of Celery's own root handler."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
