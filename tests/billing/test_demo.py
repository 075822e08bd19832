"""The demo shows every billing state in the admin on first run."""

import random

import pytest
from django.utils import timezone

from accounts import demo as accounts_demo
from billing import demo
from billing.models import BillingMode, BillingProfile, Card, EntryKind, LedgerEntry
from tests.billing.helpers import run_billing

pytestmark = pytest.mark.django_db


def test_demo_has_every_billing_state_and_bills_cleanly():
    now = timezone.now()
    rng = random.Random(2026)
    accounts_demo.seed(rng=rng, now=now, count=200)

    summary = demo.seed(rng=rng, now=now, count=200)

    assert "billing profiles" in summary
    profiles = BillingProfile.objects.all()
    assert profiles.filter(mode=BillingMode.PREPAID).exists()
    assert profiles.filter(plan__currency="EUR", account__language="de").exists()
    assert not profiles.filter(plan__currency="EUR").exclude(account__language="de").exists()
    suspended = profiles.filter(account__status="suspended")
    assert suspended.exists() and not suspended.filter(suspended_at__isnull=True).exists()
    assert suspended.filter(account__card__isnull=True, prepaid_balance=0).exists()
    assert profiles.filter(card_declines__gt=0).exists()
    assert Card.objects.filter(token="tok_decline").exists()
    kinds = set(LedgerEntry.objects.values_list("kind", flat=True))
    assert {
        EntryKind.CHARGE,
        EntryKind.PREPAYMENT_PURCHASE,
        EntryKind.PREPAID_CONSUMPTION,
        EntryKind.FORFEITURE,
        EntryKind.PAUSE_FEE,
    } <= kinds
    assert not profiles.filter(prepaid_balance__lt=0).exists()
    left_in_flight = profiles.exclude(charge_key="").count()
    assert left_in_flight > 0

    counts = run_billing(now)
    assert "errors" not in counts
    # the charges a stopped run left at the gateway are recorded by the next (R12)
    assert counts["resumed"] == left_in_flight
    assert not profiles.exclude(charge_key="").exists()
