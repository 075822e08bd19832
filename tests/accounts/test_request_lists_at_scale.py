"""The cancellation requests' list and the accounts' confirmation filter at the scale of a
million accounts (issue 17): each filter a plain condition read from an index in the list's
order, the rare states (late confirmations, not in time) from their own small index, no date
drill-down over every filtered request, the purge receipts newest first from their index.
What they cost is measured by bench/admin_walk.py; these tests show what each page does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import selectors
from accounts.models import CancellationRequest
from compliance.models import PurgeReceipt
from tests.accounts.factories import CancellationRequestFactory
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

WHOLE_TABLE_READS = ("enable_seqscan", "enable_bitmapscan", "enable_sort")
REQUESTS = "admin:accounts_cancellationrequest_changelist"


@pytest.fixture
def support(client, make_role_user):
    client.force_login(make_role_user("Support", "support.sue"))
    return client


def plan_of(queryset) -> str:
    """PostgreSQL's plan of the page's query (its first hundred rows), whole-table reads and
    sorts discouraged: a Sort or a scan left in it is one no index can spare."""
    sql, params = queryset[:100].query.sql_with_params()
    with connection.cursor() as cursor:
        for setting in WHOLE_TABLE_READS:
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        for setting in WHOLE_TABLE_READS:
            cursor.execute(f"SET LOCAL {setting} = on")
    return plan


def sent_after(hours: float, *, at=None) -> CancellationRequest:
    at = at or timezone.now() - timedelta(days=3)
    return CancellationRequestFactory(at=at, confirmation_sent_at=at + timedelta(hours=hours))


@pytest.fixture
def confirmations():
    """Confirmations sent just within the 24 hours, at the 24th hour, just after it, and none."""
    return {
        "early": sent_after(1),
        "at_24": sent_after(24),
        "late": sent_after(24 + 1 / 3600),
        "later": sent_after(70),
        "unsent": CancellationRequestFactory(at=timezone.now() - timedelta(days=3)),
    }


def test_R4_sent_late_and_sent_within_24_hours_list_the_same_requests_as_the_rule(
    support, confirmations
):
    """The 24th hour itself is on time, a second after it late; unsent ones are neither."""
    c = confirmations
    late = support.get(reverse(REQUESTS), {"confirmation": "late"}).context["cl"]
    on_time = support.get(reverse(REQUESTS), {"confirmation": "on_time"}).context["cl"]

    assert set(late.result_list) == {c["late"], c["later"]}
    assert set(on_time.result_list) == {c["early"], c["at_24"]}
    rule = CancellationRequest.objects.filter(selectors.confirmation_sent(on_time=False))
    assert set(late.result_list) == set(rule)


def test_R4_accounts_with_a_late_confirmation_are_listed_by_key_not_searched_for_among_all(
    support, confirmations
):
    """The accounts' "Sent late" page walked every account by name testing each for a late
    request (PostgreSQL cannot tell how few those are): their accounts are now read first."""
    c = confirmations
    AccountFactory()
    url = reverse("admin:accounts_account_changelist")

    with CaptureQueriesContext(connection) as captured:
        cl = support.get(url, {"confirmation": "late"}).context["cl"]

    assert set(cl.result_list) == {c["late"].account, c["later"].account}
    listed = [q["sql"] for q in captured.captured_queries if 'FROM "accounts_account"' in q["sql"]]
    assert listed and not any("EXISTS" in sql for sql in listed)
    assert "cancelreq_late_idx" in plan_of(
        CancellationRequest.objects.filter(selectors.confirmation_sent(on_time=False))
    )


def test_R4_the_late_list_is_read_from_its_own_index_newest_first_without_a_join(
    support, confirmations
):
    cl = support.get(reverse(REQUESTS), {"confirmation": "late"}).context["cl"]

    plan = plan_of(cl.queryset)
    assert "cancelreq_late_idx" in plan
    assert "Semi Join" not in plan and "Sort" not in plan and "SubPlan" not in plan


def test_R4_the_on_time_list_is_a_condition_on_the_time_index_not_a_list_of_ids(
    support, confirmations
):
    """It was the requests joined to the ids of every on-time request: two reads of all."""
    cl = support.get(reverse(REQUESTS), {"confirmation": "on_time"}).context["cl"]

    plan = plan_of(cl.queryset)
    assert "cancelreq_at_idx" in plan
    assert plan.count("on accounts_cancellationrequest") == 1
    assert "Sort" not in plan and "SubPlan" not in plan


def test_requests_not_taken_in_time_are_read_from_their_own_index(support):
    """R3's "in time = No" is rare: walking the time index for it read every request."""
    missed = CancellationRequestFactory(in_time=False)
    CancellationRequestFactory(in_time=True)
    CancellationRequestFactory(in_time=None)

    cl = support.get(reverse(REQUESTS), {"in_time__exact": "0"}).context["cl"]

    assert list(cl.result_list) == [missed]
    plan = plan_of(cl.queryset)
    assert "cancelreq_not_in_time_idx" in plan and "Sort" not in plan


@pytest.mark.parametrize(
    "choice", [{}, {"confirmation": "on_time"}, {"in_time__exact": "0"}, {"voluntary__exact": "1"}]
)
def test_the_request_list_reads_no_date_drill_down_over_the_filtered_requests(
    support, confirmations, choice
):
    """The drill-down read every filtered request twice (a MIN/MAX and a DISTINCT month) on
    each view; recent requests are a filter on the time index instead."""
    with CaptureQueriesContext(connection) as captured:
        page = support.get(reverse(REQUESTS), choice)

    assert page.status_code == 200
    sql = "\n".join(q["sql"] for q in captured.captured_queries).upper()
    assert "DATE_TRUNC" not in sql and "MIN(" not in sql and "DISTINCT" not in sql


def test_recent_requests_are_a_range_of_the_time_index(support):
    now = timezone.now()
    recent = CancellationRequestFactory(at=now - timedelta(days=2))
    CancellationRequestFactory(at=now - timedelta(days=40))

    cl = support.get(reverse(REQUESTS), {"when": "7d"}).context["cl"]

    assert list(cl.result_list) == [recent]
    plan = plan_of(cl.queryset)
    assert "cancelreq_at_idx" in plan and "Sort" not in plan


def test_purge_receipts_are_listed_newest_first_from_their_time_index(client, make_role_user):
    client.force_login(make_role_user("Compliance"))
    now = timezone.now()
    older, newer = (
        PurgeReceipt.objects.create(
            account=AccountFactory(status="purged"),
            at=now - timedelta(days=days),
            started_at=now - timedelta(days=days),
            inactive_since=now - timedelta(days=200),
            counts={"contacts": 3},
            by_job="purge_inactive",
        )
        for days in (5, 1)
    )

    cl = client.get(reverse("admin:compliance_purgereceipt_changelist")).context["cl"]

    assert list(cl.result_list) == [newer, older]
    plan = plan_of(cl.queryset)
    assert "purgereceipt_at_idx" in plan and "Sort" not in plan
