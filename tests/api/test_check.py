"""The bulk check the sending platform calls before a send (issue "suppression list as a
service", item 1): which addresses an account must not mail, since when and why, by R9's one
definition, in one set-based query per call."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.models import ApiKey
from api.services import api_key_revoke
from compliance.models import SuppressionReason
from compliance.services import optin_record, suppression_record
from core.actors import Actor
from ops.metrics import API_ADDRESSES, API_CALLS
from tests.api.conftest import PAST
from tests.compliance.factories import SuppressionFactory
from tests.factories import AccountFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

CHECK = "/api/v1/suppressions/check"


def _check(api, account, addresses, **kwargs):
    return api(CHECK, {"account": account.pk, "addresses": addresses}, **kwargs)


def test_the_check_lists_the_suppressed_addresses_with_since_when_and_why_R9(api):
    # given
    account, other = AccountFactory(), AccountFactory()
    by = Actor.system("test")
    suppression_record(
        account=account, address="gone@example.com", source="unsubscribe_link", at=PAST, by=by
    )
    suppression_record(
        account=account,
        address="bounced@example.com",
        source="bounce",
        at=PAST + timedelta(days=1),
        by=by,
    )
    suppression_record(
        account=account, address="back@example.com", source="unsubscribe_link", at=PAST, by=by
    )
    optin_record(
        account=account,
        address="back@example.com",
        at=PAST + timedelta(days=2),
        method="written_consent",
        origin="letter",
        evidence="scan",
        by=by,
        now=timezone.now(),
    )
    suppression_record(
        account=other, address="elsewhere@example.com", source="staff", at=PAST, by=by
    )

    # when
    response = _check(
        api,
        account,
        [
            " Gone@EXAMPLE.com ",
            "bounced@example.com",
            "back@example.com",
            "elsewhere@example.com",
            "fresh@example.com",
            "not an address",
        ],
    )

    # then
    assert response.status_code == 200
    answer = response.json()
    assert answer["checked"] == 6
    assert {(s["address"], s["reason"]) for s in answer["suppressed"]} == {
        (" Gone@EXAMPLE.com ", "unsubscribe"),
        ("bounced@example.com", "hard_bounce"),
    }
    since = {s["address"]: s["since"] for s in answer["suppressed"]}
    assert since["bounced@example.com"] == (PAST + timedelta(days=1)).isoformat()
    assert [i["address"] for i in answer["invalid"]] == ["not an address"]


def test_the_check_matches_the_normalised_address_idna_and_case_R9(api):
    account = AccountFactory()
    suppression_record(
        account=account,
        address="anna@bücher.example",
        source="staff",
        at=PAST,
        by=Actor.system("test"),
    )

    response = _check(api, account, ["ANNA@xn--bcher-kva.example", "anna@BÜCHER.example"])

    assert len(response.json()["suppressed"]) == 2


def test_the_check_asks_the_database_once_for_ten_thousand_addresses_R9(api):
    """One set-based query per call: the product's is_suppressed per address made 1,501
    queries per 1,000 addresses."""
    account = AccountFactory()
    for i in range(0, 10_000, 1000):
        SuppressionFactory(account=account, address=f"p{i}@example.com", at=PAST)
    addresses = [f"p{i}@example.com" for i in range(10_000)]

    with CaptureQueriesContext(connection) as queries:
        response = _check(api, account, addresses)

    assert response.status_code == 200
    assert len(response.json()["suppressed"]) == 10
    reads = [q["sql"] for q in queries.captured_queries if "compliance_suppression" in q["sql"]]
    assert len(reads) == 1


def test_the_check_answers_an_address_suppressed_later_than_now_as_not_yet(api):
    account = AccountFactory()
    SuppressionFactory(
        account=account, address="later@example.com", at=timezone.now() + timedelta(days=1)
    )

    assert _check(api, account, ["later@example.com"]).json()["suppressed"] == []


@pytest.mark.parametrize(
    "token", ["", "bo_nothere_secret", "wrong", "bo_", "Bearer", "bo_abc_" + "x" * 300]
)
def test_a_missing_or_wrong_key_gets_401_and_nothing_else(api, token):
    account = AccountFactory()
    SuppressionFactory(account=account, address="gone@example.com")

    response = _check(api, account, ["gone@example.com"], token=token)

    assert response.status_code == 401
    assert response.json() == {"error": "unauthorised"}


def test_a_revoked_key_gets_the_same_401_as_a_wrong_one(api, officer):
    account = AccountFactory()
    api_key_revoke(key=api.key, reason="leaked", by=Actor.staff(officer), now=timezone.now())

    response = _check(api, account, ["gone@example.com"])

    assert response.status_code == 401
    assert response.json() == {"error": "unauthorised"}


def test_a_key_whose_secret_is_wrong_is_refused_though_its_prefix_exists(api):
    prefix = api.presented.split("_")[1]

    response = _check(api, AccountFactory(), ["a@example.com"], token=f"bo_{prefix}_guess")

    assert response.status_code == 401


def test_a_key_without_the_check_scope_may_not_check(api, make_key):
    _key, record_only = make_key(check=False, record=True)

    response = _check(api, AccountFactory(), ["a@example.com"], token=record_only)

    assert response.status_code == 403


def test_the_key_is_stored_only_as_its_hash_and_its_last_use_is_shown(api):
    key = ApiKey.objects.get(pk=api.key.pk)
    assert api.presented not in (key.digest, key.prefix)
    assert key.last_used_at is None

    _check(api, AccountFactory(), ["a@example.com"])

    assert ApiKey.objects.get(pk=key.pk).last_used_at is not None


def test_more_than_ten_thousand_addresses_are_refused_with_the_count(api):
    response = _check(api, AccountFactory(), [f"a{i}@example.com" for i in range(10_001)])

    assert response.status_code == 400
    assert "10001" in response.json()["error"]


def test_a_body_over_the_limit_is_refused_before_it_is_read(api, settings):
    settings.API_MAX_BODY_BYTES = 1000

    response = _check(api, AccountFactory(), ["a" * 20 + f"{i}@example.com" for i in range(100)])

    assert response.status_code == 413


def test_calls_over_the_keys_rate_are_refused_with_retry_after(api, settings):
    settings.API_RATES = {**settings.API_RATES, "check": "2/m"}
    account = AccountFactory()

    statuses = [_check(api, account, ["a@example.com"]).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert int(_check(api, account, ["a@example.com"])["Retry-After"]) >= 1


@pytest.mark.parametrize(
    "body, status, says",
    [
        ("not json", 400, "not JSON"),
        ("[1, 2]", 400, "JSON object"),
        ('{"account": 1}', 400, "missing: addresses"),
        ('{"account": "x", "addresses": []}', 400, "positive integer"),
        ('{"account": 1, "addresses": "a@example.com"}', 400, "list of strings"),
        ('{"account": 1, "addresses": [1]}', 400, "list of strings"),
        ('{"account": 999999999, "addresses": []}', 404, "no account"),
    ],
)
def test_bad_input_is_answered_with_what_is_wrong(api, body, status, says):
    response = api(CHECK, None, raw=body)

    assert response.status_code == status
    assert says in response.json()["error"]


def test_an_address_that_is_not_text_is_listed_as_invalid(api):
    response = _check(api, AccountFactory(), ["a\ud800@example.com", "b@example.com"])

    assert response.status_code == 200
    assert [i["address"] for i in response.json()["invalid"]] == ["a\ud800@example.com"]


def test_only_post_is_answered(client):
    assert client.get(CHECK).status_code == 405


def test_every_call_is_counted_by_outcome(api):
    account = AccountFactory()
    answered = API_CALLS.labels("check", "answered")._value.get()
    unauthorised = API_CALLS.labels("check", "unauthorised")._value.get()
    addresses = API_ADDRESSES.labels("check")._value.get()

    _check(api, account, ["a@example.com", "b@example.com"])
    _check(api, account, ["a@example.com"], token="bo_wrong_key")

    assert API_CALLS.labels("check", "answered")._value.get() == answered + 1
    assert API_CALLS.labels("check", "unauthorised")._value.get() == unauthorised + 1
    assert API_ADDRESSES.labels("check")._value.get() == addresses + 2


def test_the_answer_is_json_and_not_cached(api):
    response = _check(api, AccountFactory(), [])

    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert json.loads(response.content)["suppressed"] == []


def test_reasons_in_the_answer_are_the_words_of_the_export(api):
    account = AccountFactory()
    for reason in SuppressionReason:
        # an import carries each row's own reason (a link's is always an unsubscribe)
        SuppressionFactory(
            account=account,
            address=f"{reason.token}@example.com",
            source="import",
            reason=reason.value,
        )

    found = _check(api, account, [f"{r.token}@example.com" for r in SuppressionReason]).json()

    assert {s["reason"] for s in found["suppressed"]} == {r.token for r in SuppressionReason}
