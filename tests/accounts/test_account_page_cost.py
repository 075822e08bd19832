"""What the account page of a big account costs: a bounded number of queries whatever its
contacts and events, and a count of its contacts that stops at a cap ("more than 10,000"),
while the purge preview still counts them exactly (R7). bench/admin_walk.py measures the time
on the 1,000,000-account data set."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import selectors
from accounts.models import AccountEvent, AccountStatus, Contact
from accounts.services.purge import content_counts
from tests.billing.factories import BillingProfileFactory, CardFactory
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

# What the page of an active account paying by card reads, as the Support role (not yet past
# a second factor here: each check asks for it again): the session and the staff member, the
# account once, its billing profile once for the page and once for its inline, its open
# confirmations, its content in five counts, the inlines, and the forecast's dry run (about
# seventy: four monthly charges over its 120 days, each a run of the billing job in a savepoint).
# It was 112 before the account and its profile were read once, the content counted in five
# queries instead of eight and the forecast's starting point read in one instead of three.
PAGE_QUERIES = 103


@pytest.fixture
def support_client(client, make_role_user):
    client.force_login(make_role_user("Support"))
    return client


def a_paying_account():
    account = AccountFactory(status=AccountStatus.ACTIVE, time_zone="America/New_York")
    BillingProfileFactory(
        account=account, next_billing_date=(timezone.now() + timedelta(days=10)).date()
    )
    CardFactory(account=account)
    return account


def add_contacts(account, count: int) -> None:
    start = Contact.objects.filter(account=account).count()
    Contact.objects.bulk_create(
        Contact(account=account, email=f"reader{start + n}@example.org") for n in range(count)
    )


def add_events(account, count: int) -> None:
    now = timezone.now()
    AccountEvent.objects.bulk_create(
        AccountEvent(
            account=account,
            at=now - timedelta(hours=n + 1),
            kind="details_changed",
            reason=f"change {n}",
            by_job="test",
        )
        for n in range(count)
    )


def page_queries(client, account) -> list[str]:
    url = reverse("admin:accounts_account_change", args=[account.pk])
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return [q["sql"] for q in captured.captured_queries]


def test_a_big_accounts_page_reads_as_many_queries_as_a_small_ones(support_client):
    account = a_paying_account()
    add_contacts(account, 3)
    add_events(account, 3)
    page_queries(support_client, account)  # what the first page of a session reads once
    small = page_queries(support_client, account)

    add_contacts(account, 300)
    add_events(account, 200)  # more than the page's latest fifty
    big = page_queries(support_client, account)

    assert len(big) == len(small)
    assert len(big) <= PAGE_QUERIES


def test_the_page_reads_the_account_and_its_billing_profile_once(support_client):
    """The account was read twice (the desk's buttons and the form), its billing profile five
    times (what is owed, the next billing date twice, the cut-off, the next step)."""
    account = a_paying_account()

    queries = page_queries(support_client, account)

    # Outside the forecast's dry run (its own transaction reads what the jobs read).
    page = queries[: next(i for i, q in enumerate(queries) if "periodictask" in q)]
    profile_reads = [q for q in page if q.startswith('SELECT "billing_billingprofile"."id"')]
    account_reads = [q for q in page if q.startswith('SELECT "accounts_account"."id"')]
    # Once for the page's sentences, once for the billing profile's own inline.
    assert len(profile_reads) == 2
    assert len(account_reads) == 1


def test_contacts_are_counted_up_to_a_cap_and_the_purge_preview_counts_them_all_R7(
    support_client, monkeypatch
):
    monkeypatch.setattr(selectors, "CONTENT_COUNTED_UP_TO", 3)
    few, many = a_paying_account(), a_paying_account()
    add_contacts(few, 3)
    add_contacts(many, 5)

    url = reverse("admin:accounts_account_change", args=[many.pk])
    english = support_client.get(url).content.decode()
    german = support_client.get(url, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    exact = support_client.get(
        reverse("admin:accounts_account_change", args=[few.pk])
    ).content.decode()
    queries = page_queries(support_client, many)

    assert "more than 3 contacts" in english
    assert "mehr als 3 Kontakte" in german
    assert "3 contacts, 0 campaigns" in exact
    # The count stops at the cap: its cost does not grow with the account's contacts.
    counted = [q for q in queries if "accounts_contact" in q and "COUNT(" in q]
    assert counted and all("LIMIT 4" in q for q in counted)
    # Where staff need the exact figure, before a purge, it is exact.
    assert content_counts(account=many)["contacts"] == 5
