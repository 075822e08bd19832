"""The compliance officer's suppression and complaint lists at the scale of hundreds of millions
of rows (issue 17): a list of a rarer reason or source, the complaints of the last days, one
account's list and the events lifted by an opt-in are each read through an index that holds
them, with the rows the staff asked for. What they cost is measured by bench/admin_walk.py at
bo_1m; these tests show the rows and the plans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from compliance.addresses import hashed_key
from compliance.models import OptIn, Suppression, SuppressionReport
from compliance.selectors import suppressions_lifted
from compliance.services.reports import ProviderReport, provider_reports_record, suppression_report
from compliance.services.suppressions import optin_record, suppression_record
from core.actors import Actor
from tests.compliance.factories import SuppressionFactory
from tests.factories import AccountFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

LIST = "admin:compliance_suppression_changelist"
COMPLAINTS = "admin:compliance_complaint_changelist"
JOB = Actor.system("unsubscribe_link")
DAY = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def officer(client, make_role_user):
    client.force_login(make_role_user("Compliance"))
    return client


# A table of ten rows is best read whole and sorted, whatever its indexes: the plan that
# shows whether an index holds the page's rows in its order is the one without those.
WHOLE_TABLE_READS = ("enable_seqscan", "enable_bitmapscan", "enable_sort")


def plan_of(queryset) -> str:
    """PostgreSQL's plan of the page's query (its first hundred rows), whole-table reads and
    sorts discouraged: a Sort left in it is one no index can spare."""
    sql, params = queryset[:100].query.sql_with_params()
    with connection.cursor() as cursor:
        for setting in WHOLE_TABLE_READS:
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        for setting in WHOLE_TABLE_READS:
            cursor.execute(f"SET LOCAL {setting} = on")
    return plan


def listed(page) -> list[Suppression]:
    assert page.status_code == 200
    return list(page.context["cl"].result_list)


def entry(account, address: str, source: str, *, at=DAY, by_job="t", **fields) -> Suppression:
    return SuppressionFactory(
        account=account, address=address, source=source, at=at, by_job=by_job, **fields
    )


def test_a_list_of_a_rare_reason_is_its_range_of_the_reason_index_newest_first_by_date(officer):
    """Complaints, manual entries and erasures were found by walking every event newest id
    first, millions of other events on the way; now each is a range of the partial index of
    the rare reasons, in its order (by date, newest first), its count too."""
    account = AccountFactory()
    older = entry(account, "old@example.com", "complaint", at=DAY)
    newer = entry(account, "new@example.com", "complaint", at=DAY + timedelta(days=3))
    # recorded last, dated between the two: newest first by date, not by id
    imported = entry(account, "imp@example.com", "import", reason="c", at=DAY + timedelta(days=1))
    entry(account, "gone@example.com", "unsubscribe_link")
    entry(account, "bounced@example.com", "bounce")

    page = officer.get(reverse(LIST), {"reason__exact": "c"})

    assert listed(page) == [newer, imported, older]
    assert "Newest first by date" in page.content.decode()
    queryset = page.context["cl"].queryset
    plan = plan_of(queryset)
    assert "Index Scan Backward using suppression_rare_reason_idx" in plan
    assert "Sort" not in plan
    assert "suppression_rare_reason_idx" in plan_of(queryset.order_by().values("pk"))


def test_lists_of_unsubscribes_and_hard_bounces_keep_the_newest_first_id_order(officer):
    """Unsubscribes and hard bounces are the bulk of the history and not in the partial
    index: a page of either is found at once in id order."""
    account = AccountFactory()
    first = entry(account, "a@example.com", "unsubscribe_link", at=DAY + timedelta(days=5))
    second = entry(account, "b@example.com", "import", at=DAY)
    bounced = entry(account, "c@example.com", "bounce", at=DAY)
    imported = entry(account, "d@example.com", "import", reason="b", at=DAY + timedelta(days=5))

    assert listed(officer.get(reverse(LIST), {"reason__exact": "u"})) == [second, first]
    assert listed(officer.get(reverse(LIST), {"reason__exact": "b"})) == [imported, bounced]
    assert listed(officer.get(reverse(LIST), {"source__exact": "bounce"})) == [bounced]


@pytest.mark.parametrize(
    ("source", "reason"),
    [("complaint", "c"), ("staff", "m"), ("erasure", "e")],
)
def test_a_list_of_a_source_with_one_reason_reads_that_reasons_index(officer, source, reason):
    account = AccountFactory()
    wanted = entry(account, "x@example.com", source)
    entry(account, "y@example.com", "import", reason=reason)
    entry(account, "z@example.com", "unsubscribe_link")

    page = officer.get(reverse(LIST), {"source__exact": source})

    assert listed(page) == [wanted]
    assert "suppression_rare_reason_idx" in plan_of(page.context["cl"].queryset)


def test_the_database_holds_each_fixed_source_to_its_reason():
    """What lets a source's list read its reason's index: a bounce is a hard bounce, whoever
    writes the row; the service says so before the database does."""
    account = AccountFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        entry(account, "x@example.com", "bounce", reason="u")
    with pytest.raises(ValueError, match="has reason 'c'"):
        suppression_record(
            account=account,
            address="x@example.com",
            source="complaint",
            reason="u",
            at=DAY,
            by=JOB,
        )
    # an import and the sending platform carry each row's own reason
    entry(account, "y@example.com", "import", reason="b")
    entry(account, "z@example.com", "api", reason="c")


def test_the_sending_platforms_list_is_found_from_its_reports(officer):
    """Its events are few beside the history, or dense among the newest: found from the
    reports it made, never by a walk of the history for the source. An event it only
    repeated (the address was unsubscribed by link already) stays the link's."""
    account = AccountFactory()
    now = timezone.now()
    by_link = suppression_record(
        account=account, address="link@example.com", source="unsubscribe_link", at=now, by=JOB
    )
    reported = {}
    for address in ("one@example.com", "link@example.com"):
        reported[address] = suppression_report(
            origin="api:crm",
            event_id=f"event {address}",
            account=account,
            address=address,
            reason="u",
            source="api",
            at=now,
            evidence="one-click post",
            by=Actor.system("api crm"),
            now=now,
        ).suppression
    assert reported["link@example.com"] == by_link

    page = officer.get(reverse(LIST), {"source__exact": "api"})

    assert listed(page) == [reported["one@example.com"]]
    assert SuppressionReport._meta.db_table in str(page.context["cl"].queryset.query)


def test_R9_lifted_by_a_later_optin_lists_the_lifted_events_found_from_the_optins(officer):
    """ "Lifted by a later opt-in" evaluated R9 for every event of the history (25 s at a
    million accounts); it starts from the opt-ins now, and R9 (``in_force_at``) decides. An
    event in clear or erased before the opt-in is lifted; one after it, one of another
    account, and one dated a little ahead of now (a provider's clock) are not."""
    account, other = AccountFactory(), AccountFactory()
    now = timezone.now()
    before = now - timedelta(days=10)
    lifted = entry(account, "back@example.com", "unsubscribe_link", at=before)
    again = entry(account, "back@example.com", "unsubscribe_link", at=now - timedelta(days=1))
    erased = entry(
        account,
        "md5:x",
        "unsubscribe_link",
        normalised=hashed_key("erased@example.com"),
        at=before,
    )
    elsewhere = entry(other, "back@example.com", "unsubscribe_link", at=before)
    ahead = entry(account, "soon@example.com", "complaint", at=now + timedelta(minutes=2))
    for address in ("back@example.com", "erased@example.com"):
        OptIn.objects.create(
            account=account,
            address=address,
            normalised=address,
            at=now - timedelta(days=5),
            method="double_opt_in",
            origin="form",
            evidence="click",
            recorded_at=now,
            by_job="t",
        )

    page = officer.get(reverse(LIST), {"in_force": "no"})

    # by account, address (the erased key "sha256:…" after "back@…"), date
    assert listed(page) == [lifted, erased]
    assert "By account, then address (A to Z) and date" in page.content.decode()
    in_force = listed(officer.get(reverse(LIST), {"in_force": "yes"}))
    assert set(in_force) == {again, elsewhere}
    assert ahead not in in_force
    assert OptIn._meta.db_table in str(page.context["cl"].queryset.query)


def test_an_address_is_found_everywhere_from_its_hash_index_and_erased_keys_from_theirs(
    officer,
):
    """The search "is this address suppressed anywhere?" is an equality: it reads the hash
    index of the normalised address (a hash code a row, not the whole address). The list of
    lifted events reads the erased keys of every account, a range no hash index gives, from
    the partial index that holds the erased rows only."""
    ann, bob = AccountFactory(), AccountFactory()
    here = entry(ann, "Person@Example.com", "unsubscribe_link", normalised="person@example.com")
    there = entry(bob, "person@example.com", "bounce")
    entry(ann, "other@example.com", "unsubscribe_link")
    erased = entry(ann, "md5:x", "erasure", normalised=hashed_key("gone@example.com"))

    page = officer.get(reverse(LIST), {"q": " PERSON@example.com "})

    assert set(listed(page)) == {here, there}
    # (the rows themselves: ten rows newest first are read from the primary key here)
    plan = plan_of(page.context["cl"].queryset.order_by().values("pk"))
    assert "suppression_address_hash_idx" in plan, plan
    lifted = listed(officer.get(reverse(LIST), {"in_force": "no"}))
    assert erased not in lifted  # no opt-in of it
    plan = plan_of(suppressions_lifted(Suppression.objects.all(), at=timezone.now()).values("pk"))
    assert "suppression_erased_idx" in plan, plan
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam "
            "WHERE c.relname = 'suppression_address_hash_idx'"
        )
        assert cursor.fetchone() == ("hash",)


def test_R9_an_optin_recorded_through_its_service_lifts_in_the_list(officer, make_role_user):
    account = AccountFactory()
    now = timezone.now()
    lifted = suppression_record(
        account=account,
        address="Back@Example.com",
        source="unsubscribe_link",
        at=now - timedelta(days=2),
        by=JOB,
    )
    optin_record(
        account=account,
        address="back@example.com",
        at=now - timedelta(days=1),
        method="double_opt_in",
        origin="form on shop.example",
        evidence="confirmation clicked",
        by=Actor.system("double_opt_in"),
        now=now,
    )

    assert listed(officer.get(reverse(LIST), {"in_force": "no"})) == [lifted]


def test_an_accounts_list_is_in_its_key_index_order_and_the_page_says_so(officer):
    """A big account's rows newest first made PostgreSQL walk the ids of the whole history
    (11 s at a million accounts); they are read from the account's key index, by address,
    and the page says that order."""
    ann, bob = AccountFactory(username="ann-shop"), AccountFactory(username="bob-shop")
    b = entry(ann, "b@example.com", "unsubscribe_link", at=DAY)
    a_late = entry(ann, "a@example.com", "bounce", at=DAY + timedelta(days=2))
    a_early = entry(ann, "a@example.com", "unsubscribe_link", at=DAY + timedelta(days=1))
    entry(bob, "a@example.com", "unsubscribe_link")

    page = officer.get(reverse(LIST), {"q": "ANN-SHOP"})

    assert listed(page) == [a_early, a_late, b]
    assert "The account&#x27;s entries by address (A to Z), then date" in page.content.decode()
    plan = plan_of(page.context["cl"].queryset)
    assert "suppression_key_at_idx" in plan and "Sort" not in plan
    # with a reason chosen too
    chosen = officer.get(reverse(LIST), {"q": "ann-shop", "reason__exact": "b"})
    assert listed(chosen) == [a_late]
    # an address is still looked up across every account, newest first
    everywhere = listed(officer.get(reverse(LIST), {"q": "A@example.com"}))
    assert {s.account for s in everywhere} == {ann, bob}


def test_complaints_are_listed_newest_first_by_date_and_the_last_days_from_the_index(
    officer,
):
    account = AccountFactory(username="ann-shop")
    now = timezone.now()
    old = entry(account, "old@example.com", "complaint", at=now - timedelta(days=40))
    recent = entry(account, "new@example.com", "complaint", at=now - timedelta(days=2))
    entry(account, "gone@example.com", "unsubscribe_link", at=now)

    assert listed(officer.get(reverse(COMPLAINTS))) == [recent, old]
    week = officer.get(reverse(COMPLAINTS), {"received": "7d"})
    assert listed(week) == [recent]
    plan = plan_of(week.context["cl"].queryset)
    assert "suppression_rare_reason_idx" in plan and "Sort" not in plan
    # Index Cond on the date: the complaints of the last days are a range, not a walk
    assert "at >=" in plan.split("suppression_rare_reason_idx", 1)[1]

    searched = officer.get(reverse(COMPLAINTS), {"q": "ann-shop"})
    assert listed(searched) == [recent, old]  # by address: new@ before old@
    assert "suppression_key_at_idx" in plan_of(searched.context["cl"].queryset)


def test_complaints_reported_by_a_provider_are_found_from_its_reports(officer):
    account = AccountFactory()
    now = timezone.now()
    for provider, address in (("sendgrid", "a@example.com"), ("postmark", "b@example.com")):
        provider_reports_record(
            provider=provider,
            reports=[
                ProviderReport(
                    account_id=account.pk,
                    address=address,
                    reason="c",
                    at=now,
                    event_id=f"{provider}-1",
                    evidence="spam report",
                )
            ],
            now=now,
        )
    # a complaint imported from another provider's list: reported by nobody
    entry(account, "c@example.com", "import", reason="c", by_job="")

    page = officer.get(reverse(COMPLAINTS), {"provider": "webhook sendgrid"})

    assert [s.normalised for s in listed(page)] == ["a@example.com"]
    assert SuppressionReport._meta.db_table in str(page.context["cl"].queryset.query)
    api = officer.get(reverse(COMPLAINTS), {"provider": "api"})
    assert listed(api) == []
