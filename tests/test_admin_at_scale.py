"""The admin's lists at the scale of millions of rows (issue 17): exact searches through the
indexes, the far pages of a big list read from its other end, the ledger's filters without a
scan of every entry. What they cost is measured by bench/admin_walk.py; these tests show what
each page does."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.models import LedgerEntry
from compliance.models import Suppression
from core import paging
from core.models import ChangeRecord
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def entry(account, *, at, reference="", currency="USD"):
    return LedgerEntry.objects.create(
        account=account,
        at=at,
        kind="charge",
        amount=Decimal("15.00"),
        currency=currency,
        description="Starter",
        by_job="billing",
        reference=reference,
    )


def sql_of(captured) -> str:
    return "\n".join(q["sql"] for q in captured.captured_queries)


def test_exact_search_by_username_finds_the_account_first_not_upper_across_a_join(
    admin_client,
):
    """Django's "=account__username" search is UPPER(username) = UPPER(term) OR-ed with the
    other fields across the join: a scan of both tables. The account is found on its own
    unique index (as typed or in lower case), then its rows by the key."""
    ann, bob = AccountFactory(username="ann-shop"), AccountFactory(username="bob-shop")
    now = timezone.now()
    entry(ann, at=now, reference="ch_1")
    entry(bob, at=now, reference="ch_2")
    url = reverse("admin:billing_ledgerentry_changelist")

    with CaptureQueriesContext(connection) as captured:
        page = admin_client.get(url, {"q": "ANN-SHOP"})
    assert page.status_code == 200
    assert [e.account for e in page.context["cl"].result_list] == [ann]
    assert "UPPER(" not in sql_of(captured)

    by_reference = admin_client.get(url, {"q": "ch_2"})
    assert [e.account for e in by_reference.context["cl"].result_list] == [bob]


def test_suppression_search_by_username_lists_that_accounts_suppressions(admin_client):
    ann, bob = AccountFactory(username="ann-shop"), AccountFactory(username="bob-shop")
    now = timezone.now()
    for account, address in ((ann, "x@example.com"), (bob, "y@example.com")):
        Suppression.objects.create(
            account=account,
            address=address,
            normalised=address,
            source="bounce",
            reason="b",
            at=now,
            by_job="t",
        )
    with CaptureQueriesContext(connection) as captured:
        page = admin_client.get(
            reverse("admin:compliance_suppression_changelist"), {"q": "ann-shop"}
        )
    assert [s.normalised for s in page.context["cl"].result_list] == ["x@example.com"]
    assert "UPPER(" not in sql_of(captured)


def test_a_far_page_of_a_big_list_is_read_from_its_end_with_the_same_rows(monkeypatch):
    """The last page of ten million rows was an OFFSET of ten million; from the other end it
    is an OFFSET of nothing. The rows are the ones the plain paginator gives."""
    from django.core.paginator import Paginator

    monkeypatch.setattr(paging, "EXACT_BELOW", 5)
    for n in range(23):
        ChangeRecord.objects.create(
            at=timezone.now(),
            model="plan",
            object_id=str(n),
            action="created",
            object_repr=f"r{n}",
            by_job="t",
        )
    rows = ChangeRecord.objects.order_by("-at", "-pk")
    ours, plain = paging.EstimatedCountPaginator(rows, 5), Paginator(rows, 5)
    ours.count = plain.count  # the estimate, made exact for the comparison

    for number in range(1, plain.num_pages + 1):
        with CaptureQueriesContext(connection) as captured:
            got = [r.pk for r in ours.page(number)]
        assert got == [r.pk for r in plain.page(number)]
        if number == plain.num_pages:
            assert "OFFSET" not in captured.captured_queries[-1]["sql"]


def test_ledger_filters_list_the_billing_currencies_and_recent_times_without_a_scan(
    admin_client,
):
    """The ledger's currency filter was a DISTINCT over every entry, its date drill-down a
    scan of every entry's day on each view: the currencies are billing's setting, the time
    filter a range of the time index."""
    account = AccountFactory()
    now = timezone.now()
    recent = entry(account, at=now - timedelta(days=2), currency="EUR")
    entry(account, at=now - timedelta(days=40))
    url = reverse("admin:billing_ledgerentry_changelist")

    with CaptureQueriesContext(connection) as captured:
        page = admin_client.get(url)
    assert page.status_code == 200
    sql = sql_of(captured)
    assert "DISTINCT" not in sql and "DATE_TRUNC" not in sql.upper()

    week = admin_client.get(url, {"when": "7d"})
    assert list(week.context["cl"].result_list) == [recent]
    euros = admin_client.get(url, {"currency": "EUR"})
    assert list(euros.context["cl"].result_list) == [recent]


def test_card_search_by_username_skips_the_last_four_digits_and_the_list_is_not_counted(
    admin_client, monkeypatch
):
    """A username is looked up on the account's index (the OR with last4 made PostgreSQL read
    every card); four digits find the card by its own index (a digits-only username too, see
    the test below). A big list takes the planner's estimate, not a COUNT of every card."""
    from billing.models import Card

    monkeypatch.setattr(paging, "EXACT_BELOW", 0)
    ann, bob = AccountFactory(username="ann-shop"), AccountFactory(username="bob-shop")
    for account, last4 in ((ann, "4242"), (bob, "1881")):
        Card.objects.create(
            account=account,
            token=f"tok_{last4}",
            brand="Visa",
            last4=last4,
            exp_month=1,
            exp_year=2031,
            added_at=timezone.now(),
        )
    url = reverse("admin:billing_card_changelist")

    with CaptureQueriesContext(connection) as captured:
        page = admin_client.get(url, {"q": "ann-shop"})
    assert [c.last4 for c in page.context["cl"].result_list] == ["4242"]
    listed = [q["sql"] for q in captured.captured_queries if "billing_card" in q["sql"]]
    assert not any('"last4" IN' in sql for sql in listed)
    if connection.vendor == "postgresql":
        assert not any("COUNT(*)" in sql for sql in listed)
    else:
        # No planner statistics to estimate from (the embedded default's SQLite): the list
        # counts exactly, and the count is the one card found.
        assert page.context["cl"].result_count == 1

    by_digits = admin_client.get(url, {"q": "1881"})
    assert [c.account for c in by_digits.context["cl"].result_list] == [bob]


def attempt(account, *, purpose, outcome="succeeded", n=0):
    from billing.models import CardChargeAttempt

    return CardChargeAttempt.objects.create(
        account=account,
        at=timezone.now(),
        purpose=purpose,
        amount=Decimal("15.00"),
        currency="USD",
        idempotency_key=f"{purpose}:{account.pk}:{n}",
        outcome=outcome,
        by_job="t",
    )


def test_card_attempts_purpose_filter_offers_the_closed_list_without_reading_the_attempts(
    admin_client,
):
    """The purpose filter was a SELECT DISTINCT over every attempt on each view of the list:
    its choices are the purposes billing charges for."""
    from billing.models import ChargePurpose

    account = AccountFactory()
    attempt(account, purpose="charge")
    fee = attempt(account, purpose="pause_fee", n=1)
    url = reverse("admin:billing_cardchargeattempt_changelist")

    with CaptureQueriesContext(connection) as captured:
        page = admin_client.get(url)
    assert "DISTINCT" not in sql_of(captured)
    (purpose,) = [s for s in page.context["cl"].filter_specs if s.title == "purpose"]
    offered = [c["display"] for c in purpose.choices(page.context["cl"])][1:]
    assert offered == [label for _value, label in ChargePurpose.choices]

    fees = admin_client.get(url, {"purpose__exact": "pause_fee"})
    assert list(fees.context["cl"].result_list) == [fee]


def test_trial_filter_counts_the_trials_from_their_index_not_a_subquery(admin_client):
    now = timezone.now()
    soon = AccountFactory(status="trial", trial_ends_at=now + timedelta(days=3))
    AccountFactory(status="trial", trial_ends_at=now + timedelta(days=9))
    AccountFactory(status="active", trial_ends_at=now + timedelta(days=3))

    with CaptureQueriesContext(connection) as captured:
        page = admin_client.get(reverse("admin:accounts_account_changelist"), {"trial_ends": "7d"})

    assert list(page.context["cl"].result_list) == [soon]
    assert "IN (SELECT" not in sql_of(captured)


@pytest.mark.postgres
def test_rare_states_are_listed_from_small_indexes_of_their_own(admin_client):
    """A legal hold, a purpose other than the monthly charge, an outcome other than success:
    a few rows among millions, which the list read by walking every row in its order. Each
    filter's list and count can be answered from a partial index of its own."""
    held = AccountFactory(legal_hold=True, legal_hold_reason="subpoena")
    AccountFactory()
    attempt(held, purpose="charge")
    renewal = attempt(held, purpose="renewal", outcome="declined", n=1)
    pages = {
        "account_legal_hold_idx": (
            reverse("admin:accounts_account_changelist"),
            {"legal_hold__exact": "1"},
            [held],
        ),
        "billing_attempt_purpose_idx": (
            reverse("admin:billing_cardchargeattempt_changelist"),
            {"purpose__exact": "renewal"},
            [renewal],
        ),
        "billing_attempt_outcome_idx": (
            reverse("admin:billing_cardchargeattempt_changelist"),
            {"outcome__exact": "declined"},
            [renewal],
        ),
    }
    for index, (url, query, expected) in pages.items():
        with CaptureQueriesContext(connection) as captured:
            page = admin_client.get(url, query)
        assert list(page.context["cl"].result_list) == expected
        table = page.context["cl"].model._meta.db_table
        listing = [
            q["sql"]
            for q in captured.captured_queries
            if q["sql"].startswith(f'SELECT "{table}"."id"') and "ORDER BY" in q["sql"]
        ]
        assert listing, index
        with connection.cursor() as cursor:
            # A table of a few rows is read whole; what matters is that the index answers.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {listing[-1]}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
            cursor.execute("SET LOCAL enable_seqscan = on")
        assert index in plan, plan


def plan_with_whole_table_reads_off(
    sql: str, settings=("enable_seqscan", "enable_bitmapscan", "enable_sort")
) -> str:
    """PostgreSQL's plan with sequential (and bitmap) scans and sorts discouraged: on a test's
    few rows a whole-table read is cheapest; what matters is whether an index answers."""
    with connection.cursor() as cursor:
        for setting in settings:
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
        for setting in settings:
            cursor.execute(f"SET LOCAL {setting} = on")
    return plan


def test_card_search_by_four_digits_finds_the_account_first_not_upper_across_a_join(
    admin_client,
):
    """A card's account is a one-to-one key: the exact search took it for a plain field and
    searched UPPER(username) = UPPER('0002') OR last4 IN ('0002') across the join, a read of
    every card and account (2 s at 615,000 cards). The account is now looked up on its own
    index as for any foreign key, and a digits-only username is still found."""
    from billing.models import Card

    digits, ann, bob = (
        AccountFactory(username="0002"),
        AccountFactory(username="ann-shop"),
        AccountFactory(username="bob-shop"),
    )
    for account, last4 in ((digits, "4242"), (ann, "0002"), (bob, "1881")):
        Card.objects.create(
            account=account,
            token=f"tok_{last4}",
            brand="Visa",
            last4=last4,
            exp_month=1,
            exp_year=2031,
            added_at=timezone.now(),
        )
    url = reverse("admin:billing_card_changelist")

    with CaptureQueriesContext(connection) as captured:
        page = admin_client.get(url, {"q": "0002"})
    assert page.status_code == 200
    assert sorted(c.account.username for c in page.context["cl"].result_list) == [
        "0002",
        "ann-shop",
    ]
    listed = [
        q["sql"]
        for q in captured.captured_queries
        if "billing_card" in q["sql"] and not q["sql"].startswith("EXPLAIN")
    ]
    assert listed and not any("UPPER(" in sql for sql in listed)
    if connection.vendor == "postgresql":
        for sql in listed:
            # The two lookups are OR-ed on the card's own indexes (a bitmap of both).
            plan = plan_with_whole_table_reads_off(sql, settings=("enable_seqscan",))
            assert "billing_card_last4_idx" in plan and "Seq Scan" not in plan, plan

    by_name = admin_client.get(url, {"q": "BOB-SHOP"})
    assert [c.last4 for c in by_name.context["cl"].result_list] == ["1881"]


def ledger_entry(account, *, kind, currency="USD", at):
    return LedgerEntry.objects.create(
        account=account,
        at=at,
        kind=kind,
        amount=Decimal("15.00"),
        currency=currency,
        by_job="billing",
    )


@pytest.mark.postgres
def test_ledger_rare_kind_and_currency_are_listed_and_counted_from_their_own_indexes(
    admin_client,
):
    """A refund, a payment recorded, a prepaid month, a pound: the ledger filtered by one of
    them walked the whole time index for its page and counted by reading every entry (0.5 to
    0.8 s at 2.8M entries). Each page and its count come from a partial index now; the
    monthly charges and card payments in dollars and euros stay out of it."""
    account = AccountFactory()
    now = timezone.now()
    ledger_entry(account, kind="charge", at=now - timedelta(days=3))
    paid = ledger_entry(account, kind="payment", at=now - timedelta(days=2))
    month = ledger_entry(account, kind="prepaid_consumption", at=now - timedelta(days=1))
    pound = ledger_entry(account, kind="card_payment", currency="GBP", at=now)
    url = reverse("admin:billing_ledgerentry_changelist")
    pages = (
        ({"kind__exact": "payment"}, [paid], "billing_ledger_kind_idx"),
        ({"kind__exact": "prepaid_consumption"}, [month], "billing_ledger_kind_idx"),
        ({"currency": "GBP"}, [pound], "billing_ledger_currency_idx"),
    )
    for query, expected, index in pages:
        with CaptureQueriesContext(connection) as captured:
            page = admin_client.get(url, query)
        assert page.status_code == 200
        assert list(page.context["cl"].result_list) == expected
        reads = [
            q["sql"]
            for q in captured.captured_queries
            if 'FROM "billing_ledgerentry"' in q["sql"] and not q["sql"].startswith("EXPLAIN")
        ]
        assert any("COUNT(*)" in sql for sql in reads), query  # a few rows: counted exactly
        for sql in reads:
            plan = plan_with_whole_table_reads_off(sql)
            assert index in plan and "Sort" not in plan, (query, plan)
