"""Log lines: a 403 or 404 is one line without a traceback; LOG_FORMAT=json gives one JSON
object per line naming the request, the staff user, the job run and the batch."""

from __future__ import annotations

import copy
import io
import json
import logging
from contextlib import contextmanager, redirect_stderr
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from django.utils.log import configure_logging

from jobs import services
from jobs.models import JobRun
from ops.logs import logging_config
from tests.accounts.factories import CancellationRequestFactory

pytestmark = pytest.mark.django_db

FORBIDDEN_PAGE = "/admin/compliance/suppressionexport/export/"


@contextmanager
def console(config: dict):
    """Logging configured as the settings do (Django's defaults, then LOGGING), with every
    handler that writes to the console (ours and Django's own) writing into a buffer; the
    settings' logging is restored afterwards."""
    stream = io.StringIO()
    with redirect_stderr(stream):
        configure_logging(django_settings.LOGGING_CONFIG, copy.deepcopy(config))
    try:
        yield stream
    finally:
        configure_logging(django_settings.LOGGING_CONFIG, django_settings.LOGGING)


def lines(stream: io.StringIO) -> list[str]:
    return [line for line in stream.getvalue().splitlines() if line.strip()]


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "production"])
def test_a_403_is_one_line_without_a_traceback(client, make_role_user, settings, debug):
    # given a support agent, who may not export unsubscribe lists
    settings.DEBUG = debug
    client.force_login(make_role_user("Support"))

    # when the agent opens the export page anyway
    with console(settings.LOGGING) as output:
        response = client.get(FORBIDDEN_PAGE)

    # then one line says so, and no traceback (there used to be two)
    assert response.status_code == 403
    assert len(lines(output)) == 1, output.getvalue()
    assert f"Forbidden (Permission denied): {FORBIDDEN_PAGE}" in lines(output)[0]
    assert "Traceback" not in output.getvalue()


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "production"])
def test_a_404_is_one_line(client, settings, debug):
    settings.DEBUG = debug

    with console(settings.LOGGING) as output:
        response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert len(lines(output)) == 1, output.getvalue()
    assert "Not Found: /no-such-page/" in output.getvalue()


def test_server_errors_keep_their_traceback(settings):
    with console(settings.LOGGING) as output:
        try:
            raise ValueError("a bug")
        except ValueError:
            logging.getLogger("django.request").error(
                "Internal Server Error: /x/", exc_info=True, extra={"status_code": 500}
            )

    assert "Traceback" in output.getvalue()


def test_json_lines_name_the_request_and_the_staff_user(client, make_role_user):
    agent = make_role_user("Support", "agent.jones")
    client.force_login(agent)

    with console(logging_config(fmt="json", level="INFO")) as output:
        given = client.get(FORBIDDEN_PAGE, HTTP_X_REQUEST_ID="lb-7f3a9c21-0001")
        forged = client.get(FORBIDDEN_PAGE, HTTP_X_REQUEST_ID='x", "staff_user": "admin')

    records = [json.loads(line) for line in lines(output)]
    assert len(records) == 2
    first, second = records
    assert first["message"] == f"Forbidden (Permission denied): {FORBIDDEN_PAGE}"
    assert (first["level"], first["logger"], first["status_code"]) == (
        "WARNING",
        "django.request",
        403,
    )
    assert first["staff_user"] == "agent.jones"
    # the proxy's id is kept and returned; a forged one is replaced by our own
    assert first["request_id"] == given["X-Request-ID"] == "lb-7f3a9c21-0001"
    assert second["request_id"] == forged["X-Request-ID"]
    assert len(second["request_id"]) == 32 and second["staff_user"] == "agent.jones"
    assert "exc_info" not in first
    assert first["time"].endswith("+00:00")


def test_json_lines_of_a_job_name_its_run_and_batch_R4():
    now = timezone.now()
    CancellationRequestFactory(at=now - timedelta(hours=30), confirmation_sent_at=None)
    CancellationRequestFactory(at=now - timedelta(hours=29), confirmation_sent_at=None)

    with console(logging_config(fmt="json", level="INFO")) as output:
        run = services.job_run(
            name="send_confirmations", as_of=now, dry_run=False, trigger=JobRun.Trigger.COMMAND
        )

    records = [json.loads(line) for line in lines(output)]
    batch = run.batch_set.get()
    overdue = [r for r in records if "past the SLA" in r["message"]]
    assert overdue and all(
        (r["job_run_id"], r["job_batch_id"]) == (run.pk, batch.pk) for r in overdue
    )
    assert all(r["job_run_id"] == run.pk for r in records if r["logger"] == "jobs.services")
    assert "request_id" not in records[0]


def test_a_traceback_in_json_stays_on_its_line():
    with console(logging_config(fmt="json", level="INFO")) as output:
        try:
            raise ValueError("card declined for tok_visa")
        except ValueError:
            logging.getLogger("billing").exception("charge failed")

    (line,) = lines(output)
    record = json.loads(line)
    assert record["message"] == "charge failed"
    assert record["exc_info"].startswith("Traceback") and "ValueError" in record["exc_info"]


def test_plain_text_is_the_default():
    assert django_settings.LOG_FORMAT == "plain"
    assert django_settings.LOGGING["handlers"]["console"]["formatter"] == "plain"
