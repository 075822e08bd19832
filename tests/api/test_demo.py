"""The demo shows the sending platform's side: a key per role of integration, a bounce and a
complaint from the providers, an erasure carried out and one waiting for sign-off."""

import random

import pytest
from django.utils import timezone

from accounts import demo as accounts_demo
from api import demo
from api.models import ApiKey
from compliance.models import Complaint, ErasureRequest, Suppression

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_demo_has_a_key_per_integration_role_a_bounce_a_complaint_and_erasures():
    rng, now = random.Random(2026), timezone.now()
    accounts_demo.seed(rng=rng, now=now, count=40)

    summary = demo.seed(rng=rng, now=now, count=40)

    assert {(k.integration, k.can_check, k.can_record) for k in ApiKey.objects.all()} == {
        ("mta-eu-1", True, False),
        ("unsubscribe-pipeline", False, True),
    }
    assert Suppression.objects.filter(reason="b", source="bounce").count() == 1
    assert Complaint.objects.filter(reason="c").count() == 1
    assert set(ErasureRequest.objects.values_list("status", flat=True)) == {"done", "requested"}
    assert Suppression.objects.filter(normalised__startswith="sha256:").exists()
    assert "bo_" in summary
