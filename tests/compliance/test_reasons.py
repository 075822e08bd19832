"""Every suppression carries why: a closed choice of reason (unsubscribe, hard bounce,
complaint, manual, erasure) and the provider's or person's words as evidence."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from compliance.models import Suppression, SuppressionReason
from compliance.services import suppression_record
from core.actors import Actor
from tests.factories import AccountFactory

LINK = Actor.system("unsubscribe_link")
AT = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("unsubscribe_link", "u"),
        ("bounce", "b"),
        ("complaint", "c"),
        ("staff", "m"),
        ("import", "u"),
    ],
)
def test_a_suppression_carries_the_reason_its_source_implies(source, reason):
    row = suppression_record(
        account=AccountFactory(), address="a@example.com", source=source, at=AT, by=LINK
    )

    assert Suppression.objects.get(pk=row.pk).reason == reason


@pytest.mark.django_db
def test_a_suppression_keeps_the_reason_and_words_it_was_given():
    row = suppression_record(
        account=AccountFactory(),
        address="a@example.com",
        source="import",
        reason=SuppressionReason.COMPLAINT,
        evidence="ARF report: abuse",
        at=AT,
        by=LINK,
    )

    assert (row.reason, row.get_reason_display(), row.evidence) == (
        "c",
        "Complaint",
        "ARF report: abuse",
    )
    assert SuppressionReason(row.reason).token == "complaint"
    assert SuppressionReason.from_token("hard_bounce") == SuppressionReason.HARD_BOUNCE


@pytest.mark.django_db
def test_an_unknown_reason_is_refused_by_the_service_and_by_the_database():
    account = AccountFactory()

    with pytest.raises(ValueError, match="unknown suppression reason 'x'"):
        suppression_record(
            account=account, address="a@example.com", source="staff", at=AT, by=LINK, reason="x"
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Suppression.objects.create(
            account=account,
            address="b@example.com",
            normalised="b@example.com",
            source="staff",
            reason="",
            at=AT,
            by_job="raw",
        )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_migration_gives_existing_suppressions_the_reason_of_their_source_and_stays_append_only():
    """The one rewrite of the history: existing rows get the reason their source implies;
    afterwards the append-only trigger refuses an UPDATE again (R12)."""
    account = AccountFactory()
    executor = MigrationExecutor(connection)
    before = [("compliance", "0005_address_index_manager_view")]
    latest = executor.loader.graph.leaf_nodes("compliance")
    # The erasure triggers (0009) never run backwards: marked unapplied, left in place, and
    # installed again on the way forward; only the sign-off check, which reads the erasure
    # requests 0008 takes away, goes with them.
    executor.migrate([("compliance", "0008_reports_erasure_complaints")], fake=True)
    with connection.cursor() as cursor:
        for table in ("compliance_suppression", "compliance_optin", "compliance_suppressionexport"):
            cursor.execute(f"DROP TRIGGER {table}_erasure_signed_off ON {table}")
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        with connection.cursor() as cursor:
            for address, source in [
                ("link@example.com", "unsubscribe_link"),
                ("bounce@example.com", "bounce"),
                ("complaint@example.com", "complaint"),
                ("staff@example.com", "staff"),
                ("import@example.com", "import"),
            ]:
                cursor.execute(
                    "INSERT INTO compliance_suppression (account_id, address, normalised, "
                    "source, at, evidence, by_job) VALUES (%s, %s, %s, %s, %s, '', 'old')",
                    [account.pk, address, address, source, AT],
                )
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(latest)

    assert dict(Suppression.objects.values_list("normalised", "reason")) == {
        "link@example.com": "u",
        "bounce@example.com": "b",
        "complaint@example.com": "c",
        "staff@example.com": "m",
        "import@example.com": "u",
    }
    # ... and their sources respelled as letters (0017), read as the same words
    assert dict(Suppression.objects.values_list("normalised", "source")) == {
        "link@example.com": "unsubscribe_link",
        "bounce@example.com": "bounce",
        "complaint@example.com": "complaint",
        "staff@example.com": "staff",
        "import@example.com": "import",
    }
    assert stored_sources() == {"l", "b", "c", "s", "i"}
    with pytest.raises(Exception, match="refused"), connection.cursor() as cursor:
        cursor.execute("UPDATE compliance_suppression SET reason = 'e'")
    with pytest.raises(Exception, match="refused"), connection.cursor() as cursor:
        cursor.execute("UPDATE compliance_suppression SET source = 'unsubscribe_link'")


def stored_sources() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT source FROM compliance_suppression")
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.django_db
def test_a_source_is_stored_as_its_letter_and_read_filtered_and_listed_as_its_word():
    """The source costs a letter a row (in the table and in the covering index), not its
    word; the application reads, filters and shows the word."""
    account = AccountFactory()
    link = suppression_record(
        account=account, address="a@example.com", source="unsubscribe_link", at=AT, by=LINK
    )
    suppression_record(account=account, address="b@example.com", source="bounce", at=AT, by=LINK)

    assert stored_sources() == {"l", "b"}
    assert Suppression.objects.get(pk=link.pk).source == "unsubscribe_link"
    assert list(Suppression.objects.filter(source="unsubscribe_link")) == [link]
    assert Suppression.objects.get(pk=link.pk).get_source_display() == "Unsubscribe link"
    assert set(Suppression.objects.values_list("source", flat=True)) == {
        "unsubscribe_link",
        "bounce",
    }


@pytest.mark.postgres
@pytest.mark.django_db
def test_R12_while_sources_are_respelled_only_a_respelling_passes_the_append_only_triggers():
    """Migration 0017 lets one change of the history through, for its own time only: an
    UPDATE that changes nothing but a row's source, from its word to its letter. Another
    letter, another column changed with it, a DELETE stay refused; afterwards the triggers
    are 0009's again and refuse the respelling too."""
    respelling = importlib.import_module("compliance.migrations.0017_suppression_source_codes")
    account = AccountFactory()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO compliance_suppression (account_id, address, normalised, source, "
            "reason, at, evidence, by_job) VALUES (%s, 'a@example.com', 'a@example.com', "
            "'unsubscribe_link', 'u', %s, '', 'old') RETURNING id",
            [account.pk, AT],
        )
        (pk,) = cursor.fetchone()
        for statement in respelling.RESPELLING_TRIGGERS:
            cursor.execute(statement)
        refused = [
            "UPDATE compliance_suppression SET source = 'b' WHERE id = %s",
            "UPDATE compliance_suppression SET source = 'l', evidence = 'x' WHERE id = %s",
            "UPDATE compliance_suppression SET reason = 'e' WHERE id = %s",
            "DELETE FROM compliance_suppression WHERE id = %s",
        ]
        for sql in refused:
            with pytest.raises(Exception, match="refused"), transaction.atomic():
                cursor.execute(sql, [pk])
        cursor.execute("UPDATE compliance_suppression SET source = 'l' WHERE id = %s", [pk])
        assert stored_sources() == {"l"}
        for statement in respelling.STRICT_TRIGGERS:
            cursor.execute(statement)
        cursor.execute(
            "INSERT INTO compliance_suppression (account_id, address, normalised, source, "
            "reason, at, evidence, by_job) VALUES (%s, 'b@example.com', 'b@example.com', "
            "'bounce', 'b', %s, '', 'old') RETURNING id",
            [account.pk, AT],
        )
        (later,) = cursor.fetchone()
        with pytest.raises(Exception, match="refused"), transaction.atomic():
            cursor.execute("UPDATE compliance_suppression SET source = 'b' WHERE id = %s", [later])
