"""Billing admin actions on several rows end with counts of what they did (R11)."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountStatus
from tests.billing.factories import BillingProfileFactory
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

URL = "admin:billing_billingprofile_changelist"


@pytest.fixture
def billing_client(client, make_role_user):
    client.force_login(make_role_user("Billing"))
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def suspended_profile():
    now = timezone.now()
    return BillingProfileFactory(
        account=AccountFactory(status=AccountStatus.SUSPENDED),
        unpaid_since=now,
        suspended_at=now,
        due_at=None,
    )


def test_record_payment_on_two_profiles_reports_two_done_R11(billing_client):
    profiles = [suspended_profile(), suspended_profile()]

    response = billing_client.post(
        reverse(URL),
        {
            "action": "record_payment",
            ACTION_CHECKBOX_NAME: [p.pk for p in profiles],
            "apply": "1",
            "amount": "45.00",
            "currency": "USD",
            "reference": "wire 881",
        },
    )

    texts = messages_of(response)
    assert texts[-1] == "Record a payment: 2 done, 0 refused."
    assert sum("recorded; the account is active" in t for t in texts) == 2


def test_retry_card_reports_what_it_refused_in_counts(billing_client):
    profiles = BillingProfileFactory.create_batch(2)

    response = billing_client.post(
        reverse(URL), {"action": "retry_card", ACTION_CHECKBOX_NAME: [p.pk for p in profiles]}
    )

    texts = messages_of(response)
    assert texts[-1] == "Retry card now: 0 done, 2 refused."
    assert sum("no declined or unpaid charge to retry" in t for t in texts) == 2
