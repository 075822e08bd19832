"""Error reporting: Sentry only with SENTRY_DSN, personal data scrubbed before anything
leaves (captured here by a transport of the test's own: no network), and a cron monitor per
scheduled job that reports failed runs."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys

import pytest
import sentry_sdk
from django.utils import timezone
from sentry_sdk.transport import Transport

from jobs import services
from jobs.models import JobRun
from jobs.registry import JOBS
from ops.sentry import init_sentry
from tests.processes import ROOT

pytestmark = pytest.mark.django_db

DSN = "https://public-key@sentry.example.invalid/42"
EMAIL = "reader.zq7@example.org"
TOKEN = "tok_ok_zq7SECRETcardTOKENx91"


class CapturingTransport(Transport):
    """Keeps what would be sent."""

    def __init__(self, options=None):
        super().__init__(options)
        self.envelopes = []

    def capture_envelope(self, envelope):
        self.envelopes.append(envelope)

    def items(self, kind: str) -> list[dict]:
        return [
            item.payload.json
            for envelope in self.envelopes
            for item in envelope.items
            if item.type == kind
        ]

    def sent(self) -> str:
        return b"".join(envelope.serialize() for envelope in self.envelopes).decode()


@pytest.fixture
def sentry(settings):
    settings.SENTRY_DSN = DSN
    init_sentry(dsn=DSN, environment="test", transport=CapturingTransport)
    yield sentry_sdk.get_client().transport
    sentry_sdk.init()  # no DSN: an inactive client, nothing captured any more


def python(code: str, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "SENTRY_DSN"} | env
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environment | {"DJANGO_SETTINGS_MODULE": "backoffice.settings", "DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


CLIENT = (
    "import django; django.setup(); import sentry_sdk; c = sentry_sdk.get_client(); "
    "print(c.is_active(), sorted(c.integrations) if c.is_active() else [])"
)


@pytest.mark.slow
def test_nothing_is_set_up_without_sentry_dsn_and_django_and_celery_are_with_it():
    assert python(CLIENT) == "False []"
    active, integrations = python(CLIENT, SENTRY_DSN=DSN).split(" ", 1)
    assert active == "True"
    assert "'django'" in integrations and "'celery'" in integrations


def test_an_error_in_a_request_reaches_sentry_without_addresses_or_card_tokens(
    sentry, client, urls
):
    client.raise_request_exception = False

    response = client.get("/failing/", {"q": EMAIL})

    assert response.status_code == 500
    (event,) = sentry.items("event")
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    sent = sentry.sent()
    assert EMAIL not in sent and "zq7SECRET" not in sent
    assert "[email]" in sent and "[card token]" in sent
    assert "cookie" not in json.dumps(event.get("request", {})).lower()


def test_an_error_log_line_reaches_sentry_without_the_address(sentry):
    logging.getLogger("billing").error("refund failed for %s (card %s)", EMAIL, TOKEN)

    (event,) = sentry.items("event")
    assert event["logentry"]["message"] == "refund failed for %s (card %s)"
    assert EMAIL not in sentry.sent() and "zq7SECRET" not in sentry.sent()


def test_local_variables_named_as_personal_data_are_dropped(sentry):
    def charge(primary_email, gateway_token):
        raise ValueError("declined")

    try:
        charge("someone@example.net", "tok_visa")
    except ValueError:
        sentry_sdk.capture_exception()

    (event,) = sentry.items("event")
    frame = event["exception"]["values"][-1]["stacktrace"]["frames"][-1]
    assert frame["vars"] == {"primary_email": "[Filtered]", "gateway_token": "[Filtered]"}


@pytest.fixture
def urls(settings):
    settings.ROOT_URLCONF = "tests.ops.urls"


def scheduled_run(name: str) -> JobRun:
    run = services.job_run_plan(
        name=name, as_of=timezone.now(), dry_run=False, trigger=JobRun.Trigger.SCHEDULE
    )
    for batch_id in run.batch_set.values_list("pk", flat=True):
        try:
            services.job_batch_run(batch_id=batch_id)
        except RuntimeError:
            pass
    run.refresh_from_db()
    return run


def failing(**kwargs):
    raise RuntimeError("the snapshot table is locked")


def test_a_scheduled_run_checks_in_to_its_jobs_cron_monitor(sentry):
    run = scheduled_run("snapshot_states")

    started, finished = sentry.items("check_in")
    assert started["monitor_slug"] == finished["monitor_slug"] == "snapshot_states"
    assert (started["status"], finished["status"]) == ("in_progress", "ok")
    assert started["check_in_id"] == finished["check_in_id"]
    assert finished["duration"] == pytest.approx(run.duration.total_seconds())
    # the monitor carries beat's schedule (minute 55 every hour), so a missed run is reported
    assert started["monitor_config"] == {
        "schedule": {"type": "crontab", "value": "55 * * * *"},
        "timezone": "UTC",
        "checkin_margin": 10,
        "max_runtime": 120,
    }


def test_a_failed_scheduled_run_checks_in_as_an_error(sentry, monkeypatch):
    monkeypatch.setitem(
        JOBS, "snapshot_states", dataclasses.replace(JOBS["snapshot_states"], function=failing)
    )

    run = scheduled_run("snapshot_states")

    assert run.outcome == JobRun.Outcome.FAILED
    assert [c["status"] for c in sentry.items("check_in")] == ["in_progress", "error"]


def test_runs_by_hand_check_in_nothing(sentry):
    services.job_run(
        name="snapshot_states", as_of=timezone.now(), dry_run=False, trigger=JobRun.Trigger.COMMAND
    )

    assert sentry.items("check_in") == []


def test_without_sentry_dsn_a_scheduled_run_sends_nothing(sentry, settings):
    settings.SENTRY_DSN = ""

    scheduled_run("snapshot_states")

    assert sentry.envelopes == []
