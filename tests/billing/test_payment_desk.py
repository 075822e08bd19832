"""The payment desk on the billing profile: what is owed (period, amount, currency, since
when), a record-payment button there, and the result with the new next billing date in one
sentence; German clerks type 15,00 (R11)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountStatus
from billing.models import EntryKind, LedgerEntry
from tests.billing.factories import BillingProfileFactory
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def billing_client(client, make_role_user):
    client.force_login(make_role_user("Billing", "bill.clerk"))
    return client


@pytest.fixture
def owing():
    account = AccountFactory(
        username="anna-bergmann", status=AccountStatus.SUSPENDED, time_zone="Europe/Berlin"
    )
    suspended = timezone.now() - timedelta(days=20)
    return BillingProfileFactory(
        account=account,
        unpaid_since=suspended,
        suspended_at=suspended,
        first_declined_on=date(2026, 11, 1),
        next_billing_date=date(2026, 11, 1),
        due_at=None,
        plan__monthly_price="15.00",
        plan__currency="EUR",
    )


def desk_url(profile):
    return reverse("admin:billing_billingprofile_payment", args=[profile.pk])


def test_the_profile_shows_what_is_owed_and_a_record_payment_button_R11(billing_client, owing):
    html = billing_client.get(
        reverse("admin:billing_billingprofile_change", args=[owing.pk])
    ).content.decode()

    assert (
        "15.00 EUR for the month from 2026-11-01 (Europe/Berlin), unpaid since 2026-11-01" in html
    )
    assert f'href="{desk_url(owing)}"' in html and 'id="record-payment-link"' in html


def test_support_sees_the_profile_but_no_payment_button(client, make_role_user, owing):
    client.force_login(make_role_user("Support"))

    html = client.get(reverse("admin:billing_billingprofile_change", args=[owing.pk]))

    assert html.status_code == 200
    assert "record-payment-link" not in html.content.decode()
    assert client.get(desk_url(owing)).status_code == 403


def test_a_german_clerk_records_15_comma_00_and_reads_the_result_in_one_sentence_R11(
    billing_client, owing
):
    desk = billing_client.get(desk_url(owing), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "15,00 EUR für den Monat ab 2026-11-01 (Europe/Berlin)" in desk
    assert '<label for="id_amount"' in desk  # labels tied to their inputs

    done = billing_client.post(
        desk_url(owing),
        {"amount": "15,00", "currency": "EUR", "reference": "Überweisung 881"},
        HTTP_ACCEPT_LANGUAGE="de",
        follow=True,
    )

    html = done.content.decode()
    owing.account.refresh_from_db()
    assert owing.account.status == AccountStatus.ACTIVE
    assert LedgerEntry.objects.filter(account=owing.account, kind=EntryKind.PAYMENT).count() == 1
    assert "Zahlung von 15,00 EUR für anna-bergmann erfasst (Überweisung 881)" in html
    assert "nächstes Rechnungsdatum 20" in html and "(Europe/Berlin)." in html


def test_a_short_payment_stays_on_the_desk_with_its_reason_and_writes_nothing(
    billing_client, owing
):
    response = billing_client.post(
        desk_url(owing), {"amount": "5.00", "currency": "EUR", "reference": "wire 2"}
    )

    html = response.content.decode()
    assert response.status_code == 200  # the desk again, not the list
    assert "Nothing was changed" in html and "does not cover it" in html
    assert 'value="5.00"' in html  # what the clerk typed is kept
    assert not LedgerEntry.objects.filter(account=owing.account).exists()
