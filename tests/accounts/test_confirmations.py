"""R4: exactly one confirmation per cancellation request, to the primary address, in the
account's language, within 24 hours; failures are retried, never duplicated."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection

from accounts import selectors
from accounts.models import AccountEvent, CancellationOutcome, CancellationRequest
from accounts.services.confirmations import confirmation_claim, confirmation_record_sent
from tests.accounts.factories import CancellationRequestFactory
from tests.accounts.smtp import Recorder
from tests.factories import AccountFactory
from tests.jobrun import job

send_confirmations = job("send_confirmations")


def recipients(recorder: Recorder) -> list[str]:
    return [m["To"] for m in recorder.messages]


@pytest.mark.django_db
def test_a_job_run_twice_sends_one_confirmation_to_the_primary_address_R4(smtp, now):
    request = CancellationRequestFactory(
        account=AccountFactory(primary_email="owner@bakery.example"), at=now - timedelta(hours=1)
    )

    with smtp() as server:
        first = send_confirmations(as_of=now, dry_run=False)
        second = send_confirmations(as_of=now + timedelta(minutes=5), dry_run=False)

    assert recipients(server.handler) == ["owner@bakery.example"]
    assert (first["sent"], second["sent"]) == (1, 0)
    request.refresh_from_db()
    assert request.confirmation_sent_at == now
    assert request.confirmation_attempts == 1
    assert (
        AccountEvent.objects.filter(account=request.account, kind="confirmation_sent").count() == 1
    )


@pytest.mark.django_db
def test_a_refused_send_is_retried_by_the_next_run_and_sent_once_R4(smtp, now):
    request = CancellationRequestFactory(at=now - timedelta(hours=1))

    with smtp(refuse_first=1) as server:
        first = send_confirmations(as_of=now, dry_run=False)
        request.refresh_from_db()
        assert (first["failed"], request.confirmation_sent_at) == (1, None)
        assert request.confirmation_attempts == 1
        assert "Try again later" in request.confirmation_last_error

        second = send_confirmations(as_of=now + timedelta(minutes=5), dry_run=False)
        third = send_confirmations(as_of=now + timedelta(minutes=10), dry_run=False)

    assert server.handler.refused == 1
    assert len(server.handler.messages) == 1
    assert (second["sent"], third["sent"]) == (1, 0)
    request.refresh_from_db()
    assert request.confirmation_sent_at == now + timedelta(minutes=5)
    assert request.confirmation_attempts == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_concurrent_runs_send_each_confirmation_once_R4(smtp, now):
    requests = [CancellationRequestFactory(at=now - timedelta(hours=1)) for _ in range(3)]
    start = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            start.wait(timeout=10)
            results.append(send_confirmations(as_of=now, dry_run=False))
        except Exception as exc:  # noqa: BLE001 — reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    # a slow server keeps each conversation open while the other run goes on
    with smtp(delay=0.3) as server:
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert errors == []
    assert sorted(recipients(server.handler)) == sorted(r.account.primary_email for r in requests)
    assert sum(r["sent"] for r in results) == 3
    assert not CancellationRequest.objects.filter(confirmation_sent_at__isnull=True).exists()


@pytest.mark.django_db
def test_the_confirmation_is_in_the_accounts_language_R4(mailoutbox, now):
    german = CancellationRequestFactory(
        account=AccountFactory(language="de", time_zone="Europe/Berlin"), at=now
    )
    english = CancellationRequestFactory(account=AccountFactory(language="en"), at=now)

    send_confirmations(as_of=now, dry_run=False)

    by_address = {m.to[0]: m for m in mailoutbox}
    de = by_address[german.account.primary_email]
    en = by_address[english.account.primary_email]
    assert de.subject == f"Ihr Konto {german.account.username} ist gekündigt"
    assert "2026-11-25 13:00 CET" in de.body
    assert en.subject == f"Your account {english.account.username} is cancelled"


@pytest.mark.django_db
def test_a_saved_by_pause_request_confirms_the_pause_R4_R8(mailoutbox, now):
    CancellationRequestFactory(
        account=AccountFactory(status="paused"),
        at=now,
        outcome=CancellationOutcome.SAVED_BY_PAUSE,
        pause_offered=True,
        pause_accepted=True,
    )

    send_confirmations(as_of=now, dry_run=False)

    assert len(mailoutbox) == 1
    assert "paused" in mailoutbox[0].subject


@pytest.mark.django_db
def test_an_unsent_confirmation_is_overdue_after_24_hours_R4(settings, now):
    settings.CONFIRMATION_SLA = timedelta(hours=24)
    late = CancellationRequestFactory(at=now - timedelta(hours=24))
    fresh = CancellationRequestFactory(at=now - timedelta(hours=23, minutes=59))
    CancellationRequestFactory(at=now - timedelta(days=3), confirmation_sent_at=now)

    overdue = selectors.confirmations_overdue(as_of=now)

    assert list(overdue) == [late]
    assert send_confirmations(as_of=now, dry_run=True) == {"would_send": 2, "overdue": 1}
    assert fresh.confirmation_sent_at is None


@pytest.mark.django_db
def test_a_request_claimed_by_another_sender_is_left_alone_R4(mailoutbox, now):
    CancellationRequestFactory(
        at=now - timedelta(hours=1), confirmation_claimed_until=now + timedelta(minutes=5)
    )

    assert send_confirmations(as_of=now, dry_run=False)["sent"] == 0
    assert send_confirmations(as_of=now + timedelta(minutes=6), dry_run=False)["sent"] == 1
    assert len(mailoutbox) == 1


class Killed(BaseException):
    """Stands for the worker dying at this point (not an error any code would catch)."""


@pytest.mark.django_db
def test_a_crash_between_the_sent_record_and_its_event_leaves_neither_R4_R12(
    mailoutbox, monkeypatch, now
):
    # given a request whose confirmation the mail server accepts, and a sender that dies
    # right after recording the send, before its timeline event is written
    request = CancellationRequestFactory(at=now - timedelta(hours=1))

    def dies(**kwargs):
        raise Killed

    with monkeypatch.context() as patched:
        patched.setattr("accounts.services.confirmations.account_event_record", dies)
        with pytest.raises(Killed):
            send_confirmations(as_of=now, dry_run=False)

    # then nothing of the record was kept: the request is still unsent and claimed (a
    # visible, resumable state), never "sent" without its event
    request.refresh_from_db()
    assert request.confirmation_sent_at is None
    assert request.confirmation_claimed_until is not None
    assert not AccountEvent.objects.filter(kind="confirmation_sent").exists()
    # and once the claim lapsed the next run sends it and records it with its one event
    later = now + timedelta(minutes=11)
    assert send_confirmations(as_of=later, dry_run=False)["sent"] == 1
    request.refresh_from_db()
    assert request.confirmation_sent_at == later
    assert (
        AccountEvent.objects.filter(account=request.account, kind="confirmation_sent").count() == 1
    )
    assert len(mailoutbox) == 2  # the one accepted before the crash went out again (README)


@pytest.mark.django_db
def test_a_sender_whose_claim_lapsed_and_was_taken_over_writes_no_second_event_R4_R12(
    mailoutbox, now
):
    # given a request claimed by a slow sender whose claim lapsed and was taken over
    request = CancellationRequestFactory(at=now - timedelta(hours=1))
    slow = confirmation_claim(request_id=request.pk, as_of=now)
    later = now + timedelta(minutes=11)
    assert send_confirmations(as_of=later, dry_run=False)["sent"] == 1

    # when the slow sender's server finally accepts and it records the send
    recorded = confirmation_record_sent(request=request, token=slow, as_of=now)

    # then the request keeps the record of the sender that took it over, with one event
    assert recorded is False
    request.refresh_from_db()
    assert request.confirmation_sent_at == later
    assert (
        AccountEvent.objects.filter(account=request.account, kind="confirmation_sent").count() == 1
    )
