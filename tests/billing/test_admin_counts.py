"""Billing admin actions on several rows end with counts of what they did, and change
nothing at all when one row is refused (R11, R12)."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountStatus
from tests.billing.factories import BillingProfileFactory, PlanFactory
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
    assert texts[-1] == "Record a payment: 2 done."
    assert sum("recorded; the account is active" in t for t in texts) == 2


def test_retry_card_refused_for_one_row_says_which_and_changes_nothing(billing_client):
    profiles = BillingProfileFactory.create_batch(2)

    response = billing_client.post(
        reverse(URL),
        {"action": "retry_card", ACTION_CHECKBOX_NAME: [p.pk for p in profiles], "apply": "1"},
    )

    texts = messages_of(response)
    assert len(texts) == 1
    assert texts[0].startswith("Nothing was changed: billing of ")
    assert "no declined or unpaid charge to retry" in texts[0]


def test_a_payment_refused_on_the_second_row_leaves_the_first_unpaid_too_R12(billing_client):
    """All or nothing: an absurd amount on two profiles used to leave the first one's
    payment in the (undeletable) ledger and end in a 500."""
    from billing.models import LedgerEntry

    first = suspended_profile()
    second = suspended_profile()
    # billed in euros: a payment in dollars is refused for it
    second.plan = PlanFactory(code="growth-eur", currency="EUR")
    second.save()

    response = billing_client.post(
        reverse(URL),
        {
            "action": "record_payment",
            ACTION_CHECKBOX_NAME: [first.pk, second.pk],
            "apply": "1",
            "amount": "45.00",
            "currency": "USD",
            "reference": "wire 882",
        },
    )

    assert response.status_code == 302
    assert "Nothing was changed" in messages_of(response)[0]
    assert not LedgerEntry.objects.exists()
    first.account.refresh_from_db()
    assert first.account.status == AccountStatus.SUSPENDED


def test_an_absurd_amount_is_refused_naming_the_limit_not_a_500(billing_client):
    profile = suspended_profile()

    response = billing_client.post(
        reverse(URL),
        {
            "action": "record_payment",
            ACTION_CHECKBOX_NAME: [profile.pk],
            "apply": "1",
            "amount": "99999999999.99",
            "currency": "USD",
            "reference": "wire 883",
        },
    )

    assert response.status_code == 302
    assert "more than the largest amount" in messages_of(response)[0]
