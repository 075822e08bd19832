"""The OpenAPI schema the app serves for the check and record calls (item 5), and every call
schemathesis generates from it, valid and invalid, answered without a server error and as the
schema says. Examples are bounded for CI's time."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.factories import AccountFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", WSGIHandler())


@pytest.fixture
def caller(make_key, settings):
    settings.API_RATES = {"check": "100000/m", "record": "100000/m"}
    _key, presented = make_key()
    # Requests run in the test's transaction, as with Django's test client: the handler must
    # not close the connection at the end of each (Django's client disconnects the same).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield AccountFactory(), presented
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_the_schema_is_served_and_names_both_calls(client):
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    assert set(response.json()["paths"]) == {"/api/v1/suppressions/check", "/api/v1/suppressions"}


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_call_gets_a_server_error(case, caller):
    account, presented = caller
    generated = case.body.get("account") if isinstance(case.body, dict) else None
    if isinstance(generated, int | float) and not isinstance(generated, bool) and generated >= 1:
        # Most generated ids name no account: let them reach the account's suppressions.
        case.body["account"] = account.pk
    # Every check but "schema-valid data is accepted": an address is a string to the schema,
    # and "0" is a string that is no address (400, with what is wrong).
    case.call_and_validate(
        headers={"Authorization": f"Bearer {presented}"},
        excluded_checks=[positive_data_acceptance],
    )
