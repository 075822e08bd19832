"""Billing in the admin: the ledger is read-only for everyone (R12), refunds of prepayments are
refused there too (R5), a recorded payment reactivates (R11), filters and the account page."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountStatus
from billing.models import BillingMode, BillingProfile, Card, EntryKind, LedgerEntry
from billing.services import prepaid_term_buy
from tests.billing.factories import BillingProfileFactory, CardFactory
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", password="pw-for-tests")
    client.force_login(user)
    return client


@pytest.fixture
def billing_client(client, make_role_user):
    client.force_login(make_role_user("Billing"))
    return client


def prepayment(agent):
    account = AccountFactory()
    BillingProfileFactory(
        account=account, mode=BillingMode.PREPAID, next_billing_date=None, due_at=None
    )
    CardFactory(account=account)
    return prepaid_term_buy(account=account, by=agent, now=timezone.now())


def test_ledger_cannot_be_added_edited_or_deleted_even_by_a_superuser_R12(superuser_client, agent):
    entry = prepayment(agent)

    page = superuser_client.get(reverse("admin:billing_ledgerentry_change", args=[entry.pk]))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert superuser_client.get(reverse("admin:billing_ledgerentry_add")).status_code == 403
    delete = reverse("admin:billing_ledgerentry_delete", args=[entry.pk])
    assert superuser_client.post(delete, {"post": "yes"}).status_code == 403
    changelist = superuser_client.get(reverse("admin:billing_ledgerentry_changelist"))
    assert b"delete_selected" not in changelist.content
    assert LedgerEntry.objects.filter(pk=entry.pk, amount=entry.amount).exists()


def test_refund_action_refuses_a_prepayment_even_for_a_superuser_R5(superuser_client, agent):
    entry = prepayment(agent)

    response = superuser_client.post(
        reverse("admin:billing_ledgerentry_changelist"),
        {
            "action": "request_refund",
            ACTION_CHECKBOX_NAME: [entry.pk],
            "apply": "1",
            "reason": "Customer asked",
        },
        follow=True,
    )

    assert "Prepayments are not refundable (R5)" in response.content.decode()
    assert not LedgerEntry.objects.filter(kind=EntryKind.REFUND).exists()


def test_record_payment_action_reactivates_a_suspended_account_R11(billing_client):
    account = AccountFactory(status=AccountStatus.SUSPENDED)
    now = timezone.now()
    profile = BillingProfileFactory(
        account=account, unpaid_since=now, suspended_at=now, due_at=None
    )
    url = reverse("admin:billing_billingprofile_changelist")

    form = billing_client.post(
        url, {"action": "record_payment", ACTION_CHECKBOX_NAME: [profile.pk]}
    )
    assert b"Record a payment" in form.content
    done = billing_client.post(
        url,
        {
            "action": "record_payment",
            ACTION_CHECKBOX_NAME: [profile.pk],
            "apply": "1",
            "amount": "45.00",
            "currency": "USD",
            "reference": "wire 881",
        },
        follow=True,
    )

    assert "payment of 45.00 USD recorded; the account is active" in done.content.decode()
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE


def test_record_payment_action_shows_a_bad_amount_and_writes_nothing(billing_client):
    account = AccountFactory(status=AccountStatus.SUSPENDED)
    profile = BillingProfileFactory(account=account, unpaid_since=timezone.now())

    done = billing_client.post(
        reverse("admin:billing_billingprofile_changelist"),
        {
            "action": "record_payment",
            ACTION_CHECKBOX_NAME: [profile.pk],
            "apply": "1",
            "amount": "45.001",
            "currency": "USD",
            "reference": "wire 1",
        },
        follow=True,
    )

    assert "more than two decimals" in done.content.decode()
    assert not LedgerEntry.objects.exists()


def test_support_may_view_profiles_but_not_record_payments(client, make_role_user):
    client.force_login(make_role_user("Support"))
    BillingProfileFactory()

    page = client.get(reverse("admin:billing_billingprofile_changelist"))

    assert page.status_code == 200
    assert b"record_payment" not in page.content
    assert client.get(reverse("admin:billing_ledgerentry_changelist")).status_code == 403


def test_manager_may_change_plans_but_not_profiles(client, make_role_user):
    user = make_role_user("Manager")
    assert user.has_perm("billing.change_plan")
    assert user.has_perm("billing.view_ledgerentry")
    assert not user.has_perm("billing.change_billingprofile")
    assert not user.has_perm("billing.record_payment")


def test_filters_find_suspended_soon_cancelled_and_low_prepaid(billing_client):
    now = timezone.now()
    soon = BillingProfileFactory(
        account=AccountFactory(status=AccountStatus.SUSPENDED, username="cancels-soon"),
        unpaid_since=now - timedelta(days=87),
        suspended_at=now - timedelta(days=87),
    )
    recent = BillingProfileFactory(
        account=AccountFactory(status=AccountStatus.SUSPENDED, username="suspended-recently"),
        unpaid_since=now - timedelta(days=3),
        suspended_at=now - timedelta(days=3),
    )
    low = BillingProfileFactory(
        account=AccountFactory(username="low-balance"),
        mode=BillingMode.PREPAID,
        prepaid_balance=Decimal("30.00"),
    )
    url = reverse("admin:billing_billingprofile_changelist")

    def listed(query):
        content = billing_client.get(url + query).content.decode()
        return {p.account.username for p in (soon, recent, low) if p.account.username in content}

    assert listed("?cancels_soon=7") == {"cancels-soon"}
    assert listed("?days_unpaid=0-30") == {"suspended-recently"}
    assert listed("?days_unpaid=61-90") == {"cancels-soon"}
    assert listed("?prepaid_low=yes") == {"low-balance"}


def test_account_page_shows_next_billing_date_and_last_moment_to_cancel_R3(superuser_client):
    account = AccountFactory(time_zone="America/Los_Angeles")
    BillingProfileFactory(account=account, next_billing_date=date(2030, 12, 1))
    CardFactory(account=account)

    page = superuser_client.get(reverse("admin:accounts_account_change", args=[account.pk]))

    content = page.content.decode()
    assert page.status_code == 200
    assert "Dec. 1, 2030" in content or "2030-12-01" in content
    assert "last moment to cancel without the next charge" in content.lower()
    assert "2030-12-01 00:00 PST" in content
    assert "4242" in content


def test_card_add_refuses_a_token_the_gateway_rejects(billing_client):
    account = AccountFactory()

    page = billing_client.post(
        reverse("admin:billing_card_add"), {"account": account.pk, "token": "tok_nonsense"}
    )

    assert "does not know the card token" in page.content.decode()
    assert not Card.objects.filter(account=account).exists()


def test_card_add_takes_the_details_from_the_gateway(billing_client):
    account = AccountFactory()

    billing_client.post(
        reverse("admin:billing_card_add"),
        {"account": account.pk, "token": "tok_amex", "exp_month": "3", "exp_year": "2031"},
    )

    account.refresh_from_db()
    assert (account.card.brand, account.card.last4, account.card.exp_year) == ("Amex", "8431", 2031)


def test_adding_a_profile_in_the_admin_sets_its_first_billing_date(billing_client):
    account = AccountFactory(time_zone="Europe/Berlin")
    plan = BillingProfileFactory().plan

    billing_client.post(
        reverse("admin:billing_billingprofile_add"),
        {"account": account.pk, "plan": plan.pk, "mode": "monthly_card", "prepaid_months": 12},
    )

    profile = account.billing_profile
    assert profile.next_billing_date == timezone.now().astimezone(account.zone).date()
    assert profile.due_at is not None


def test_a_profile_the_service_refuses_shows_the_reason_on_the_form_not_a_403(billing_client):
    account = AccountFactory()
    plan = BillingProfileFactory().plan

    page = billing_client.post(
        reverse("admin:billing_billingprofile_add"),
        {"account": account.pk, "plan": plan.pk, "mode": "prepaid", "prepaid_months": 40},
    )

    assert page.status_code == 200
    assert "a prepaid term is 1 to 36 months, not 40" in page.content.decode()
    assert not BillingProfile.objects.filter(account=account).exists()


def test_profile_list_shows_each_next_billing_date_without_a_query_per_row_R3(
    billing_client, django_assert_max_num_queries
):
    """The list reads the next billing date from the row itself (its account is selected with
    it): ten more profiles cost no more queries than two."""
    url = reverse("admin:billing_billingprofile_changelist")
    for _ in range(2):
        BillingProfileFactory(account=AccountFactory(status=AccountStatus.ACTIVE))
    with CaptureQueriesContext(connection) as few:
        assert billing_client.get(url).status_code == 200
    for _ in range(10):
        BillingProfileFactory(
            account=AccountFactory(status=AccountStatus.ACTIVE, time_zone="Asia/Tokyo"),
            next_billing_date=date(2030, 12, 1),
        )
    with django_assert_max_num_queries(len(few)):
        page = billing_client.get(url)
    assert "2030-12-01" in page.content.decode()
