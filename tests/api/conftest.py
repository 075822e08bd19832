"""Fixtures of the suppression API's tests: keys made through the service, as staff do in the
admin, and a client that calls with one."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.utils import timezone

from api.services import api_key_create
from core.actors import Actor


@pytest.fixture
def officer(make_role_user):
    return make_role_user("Compliance", username="officer.keys")


@pytest.fixture
def make_key(officer):
    def make(*, check=True, record=True, integration="mta-eu-1"):
        return api_key_create(
            integration=integration,
            description="tests",
            can_check=check,
            can_record=record,
            by=Actor.staff(officer),
            now=timezone.now(),
        )

    return make


@pytest.fixture
def api(client, make_key):
    """Posts JSON to the API with a key that may check and record."""
    key, presented = make_key()

    def post(path, body, *, token=presented, raw=None, **headers):
        data = raw if raw is not None else json.dumps(body)
        return client.post(
            path,
            data=data,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}" if token else "",
            **headers,
        )

    post.key = key
    post.presented = presented
    return post


PAST = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
