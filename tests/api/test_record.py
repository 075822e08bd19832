"""The record call (item 2): unsubscribes the mail pipeline received (List-Unsubscribe mails,
one-click posts received elsewhere) become suppressions, once per event id."""

from __future__ import annotations

import pytest

from compliance.models import Suppression, SuppressionReport
from compliance.selectors import is_suppressed
from tests.api.conftest import PAST
from tests.factories import AccountFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

RECORD = "/api/v1/suppressions"


def _event(account, **fields):
    return {
        "account": account.pk,
        "event_id": "mta-eu-1:list-unsubscribe:8f2c",
        "address": "Reader@Example.com",
        "reason": "unsubscribe",
        "at": PAST.isoformat(),
        "evidence": "List-Unsubscribe mailto from reader's mail client",
        **fields,
    }


def test_an_unsubscribe_is_recorded_with_its_evidence_R9(api):
    account = AccountFactory()

    response = api(RECORD, _event(account))

    assert response.status_code == 201
    assert response.json()["recorded"] is True
    suppression = Suppression.objects.get(account=account)
    assert (suppression.normalised, suppression.reason, suppression.source) == (
        "reader@example.com",
        "u",
        "api",
    )
    assert suppression.at == PAST
    assert "List-Unsubscribe mailto" in suppression.evidence
    assert "mta-eu-1" in suppression.evidence and suppression.by_job == "api mta-eu-1"
    assert is_suppressed(account, "reader@example.com", at=PAST)


def test_a_retried_delivery_records_once_and_answers_what_the_first_recorded(api):
    account = AccountFactory()

    first = api(RECORD, _event(account))
    again = api(RECORD, _event(account))

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["recorded"] is False
    assert again.json()["suppressed_since"] == first.json()["suppressed_since"]
    assert Suppression.objects.filter(account=account).count() == 1
    assert SuppressionReport.objects.filter(account=account).count() == 1


def test_the_event_id_is_kept_only_as_its_hash(api):
    account = AccountFactory()

    api(RECORD, _event(account, event_id="unsub reader@example.com 1"))

    report = SuppressionReport.objects.get(account=account)
    assert "reader" not in report.event_key and len(report.event_key) == 64


def test_an_event_id_reused_for_another_address_is_refused_not_taken_for_a_retry(api):
    account = AccountFactory()
    api(RECORD, _event(account))

    response = api(RECORD, _event(account, address="someone.else@example.com"))

    assert response.status_code == 409
    assert not Suppression.objects.filter(normalised="someone.else@example.com").exists()


def test_two_events_of_an_address_already_suppressed_add_no_second_row_R9(api):
    account = AccountFactory()
    api(RECORD, _event(account))

    response = api(RECORD, _event(account, event_id="second click"))

    assert response.status_code == 201
    assert Suppression.objects.filter(account=account).count() == 1


def test_hard_bounces_and_complaints_keep_their_reason(api):
    account = AccountFactory()

    api(RECORD, _event(account, event_id="1", address="b@example.com", reason="hard_bounce"))
    api(RECORD, _event(account, event_id="2", address="c@example.com", reason="complaint"))

    reasons = dict(Suppression.objects.filter(account=account).values_list("normalised", "reason"))
    assert reasons == {"b@example.com": "b", "c@example.com": "c"}


@pytest.mark.parametrize(
    "fields, says",
    [
        ({"reason": "erasure"}, "reason must be one of"),
        ({"reason": "manual"}, "reason must be one of"),
        ({"address": "no at sign"}, "address"),
        ({"event_id": ""}, "event_id must not be empty"),
        ({"event_id": 7}, "event_id must be a string"),
        ({"at": "yesterday"}, "ISO 8601"),
        ({"at": "2026-03-01T12:00:00"}, "offset"),
        ({"at": "2026-03-01T12:60:00+00:00"}, "ISO 8601"),  # found by schemathesis: a 500
        ({"at": "2026-02-31T12:00:00+00:00"}, "ISO 8601"),
        ({"at": "2999-01-01T00:00:00+00:00"}, "in the future"),
        ({"evidence": "x" * 2001}, "over 2000"),
        ({"event_id": "\ud800"}, "not text"),
        ({"address": "a\ud800@example.com"}, "not text"),
    ],
)
def test_a_bad_event_is_refused_with_what_is_wrong_and_records_nothing(api, fields, says):
    account = AccountFactory()

    response = api(RECORD, _event(account, **fields))

    assert response.status_code == 400
    assert says in response.json()["error"]
    assert not Suppression.objects.filter(account=account).exists()


def test_an_unsubscribe_after_the_account_closed_is_still_recorded_R9(api):
    account = AccountFactory(status="cancelled")

    assert api(RECORD, _event(account)).status_code == 201


def test_a_key_that_may_only_check_may_not_record(api, make_key):
    _key, check_only = make_key(check=True, record=False)

    response = api(RECORD, _event(AccountFactory()), token=check_only)

    assert response.status_code == 403
