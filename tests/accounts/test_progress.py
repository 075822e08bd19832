"""send_confirmations reports progress per batch (runjob shows it) (R4)."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command

from core import progress as progress_module
from tests.accounts.factories import CancellationRequestFactory
from tests.jobrun import job

pytestmark = pytest.mark.django_db


def test_send_confirmations_reports_each_email_R4(mailoutbox, now, monkeypatch):
    """Per email, not per query batch: one SMTP conversation can take up to EMAIL_TIMEOUT,
    and the progress call is also the job batch's heartbeat."""
    CancellationRequestFactory.create_batch(5, at=now - timedelta(minutes=5))
    steps: list[int] = []

    counts = job("send_confirmations")(as_of=now, progress=steps.append)

    assert steps == [1, 1, 1, 1, 1]
    assert counts["sent"] == 5 and len(mailoutbox) == 5


def test_runjob_send_confirmations_off_a_terminal_prints_progress_and_done_R4(
    mailoutbox, now, monkeypatch
):
    monkeypatch.setattr(progress_module, "LOG_EVERY_SECONDS", 0)
    CancellationRequestFactory.create_batch(2, at=now - timedelta(minutes=5))
    out, err = io.StringIO(), io.StringIO()

    call_command("runjob", "send_confirmations", "--as-of", now.isoformat(), stdout=out, stderr=err)

    lines = err.getvalue().splitlines()
    assert lines[-1].startswith("send_confirmations: 2 items (") and lines[-1].endswith(" done")
    assert "sent=2" in out.getvalue()
