"""What a suppression row keeps (R9: kept forever, so each byte counts hundreds of millions of
times): the source as a letter, the address as received only where it is not its key. Every
reader sees the same words and addresses as before: the model, the export (plain and hashed,
inside PostgreSQL), the import, the admin."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse

from compliance.models import FIXED_REASON, Suppression, SuppressionReason, SuppressionSource
from compliance.services import suppression_export, suppression_record, suppressions_import
from compliance.services.exports import _ENDING, _ending_words
from core.actors import Actor
from tests.compliance.factories import SuppressionFactory
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

LINK = Actor.system("unsubscribe_link")
EXPORTER = Actor.system("export_suppressions")


def stored(pk: int) -> tuple[str | None, str]:
    """The row's address and source columns as the table holds them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT address, source FROM compliance_suppression WHERE id = %s", [pk])
        return cursor.fetchone()


def export_rows(account, now, fmt="csv") -> list[list[str]]:
    data = b"".join(
        suppression_export(account=account, purpose="Hand-over", fmt=fmt, by=EXPORTER, now=now)
    )
    return list(csv.reader(io.StringIO(data.decode())))[1:]


def test_an_address_received_as_its_key_is_kept_once_and_read_as_received(now):
    account = AccountFactory()
    plain = suppression_record(
        account=account, address="anna@example.com", source="unsubscribe_link", at=now, by=LINK
    )
    capitals = suppression_record(
        account=account, address=" Bob@Example.COM ", source="bounce", at=now, by=LINK
    )

    assert stored(plain.pk) == (None, "l")
    assert stored(capitals.pk) == ("Bob@Example.COM", "b")
    assert [
        (s.address, s.normalised, s.source)
        for s in Suppression.objects.filter(account=account).order_by("normalised")
    ] == [
        ("anna@example.com", "anna@example.com", "unsubscribe_link"),
        ("Bob@Example.COM", "bob@example.com", "bounce"),
    ]


def test_an_import_keeps_only_the_addresses_received_otherwise_than_their_key(now):
    account = AccountFactory()
    data = b"email\nplain@example.com\nMixed@Example.com\n"

    suppressions_import(
        account=account,
        stream=io.BytesIO(data),
        file_name="list.csv",
        by=Actor.system("import_suppressions"),
        now=now,
        dry_run=False,
    )

    rows = Suppression.objects.filter(account=account).order_by("normalised")
    assert [stored(s.pk) for s in rows] == [("Mixed@Example.com", "i"), (None, "i")]
    assert [(s.address, s.source) for s in rows] == [
        ("Mixed@Example.com", "import"),
        ("plain@example.com", "import"),
    ]


@pytest.mark.parametrize("fmt", ["csv", "md5", "sha256"])
def test_R10_the_export_names_every_source_and_reason_in_words(now, fmt):
    """The table holds letters; the hand-over names each source and reason in words, for each
    pair the database allows, and for a row written before the letters (its source's word)."""
    account = AccountFactory()
    pairs = [(source, reason) for source, reason in FIXED_REASON.items()] + [
        (source, reason)
        for source in (SuppressionSource.IMPORT, SuppressionSource.API)
        for reason in SuppressionReason
    ]
    for n, (source, reason) in enumerate(pairs):
        SuppressionFactory(
            account=account,
            address=f"p{n}@example.com",
            source=source,
            reason=reason,
            at=now - timedelta(days=1),
        )
    expected = {(str(source), SuppressionReason(reason).token) for source, reason in pairs}
    with connection.cursor() as cursor:
        # as a row of the previous release (migration 0017 respells these)
        cursor.execute(
            "INSERT INTO compliance_suppression (account_id, address, normalised, source, "
            "reason, at, evidence, by_job) VALUES (%s, NULL, 'old@example.com', 'import', "
            "'b', %s, '', 'old')",
            [account.pk, now - timedelta(days=1)],
        )
    expected.add(("import", "hard_bounce"))

    rows = export_rows(account, now, fmt)

    assert len(rows) == len(pairs) + 1
    assert {(r[2], r[3]) for r in rows} == expected


def test_the_admin_shows_the_address_as_received_also_where_the_row_keeps_only_the_key(
    client, make_role_user, now
):
    account = AccountFactory()
    plain = suppression_record(
        account=account, address="anna@example.com", source="staff", at=now, by=LINK
    )
    client.force_login(make_role_user("Compliance"))

    listed = client.get(reverse("admin:compliance_suppression_changelist"))
    page = client.get(reverse("admin:compliance_suppression_change", args=[plain.pk]))

    assert listed.status_code == page.status_code == 200
    assert listed.context["cl"].result_list[0].address == "anna@example.com"
    shown = {
        field.field["name"]: field.contents()
        for fieldset in page.context["adminform"]
        for line in fieldset
        for field in line
    }
    assert shown["address"] == shown["normalised"] == "anna@example.com"
    assert "received" not in shown


def test_R10_a_chunk_of_the_copy_gets_its_words_in_one_pass_also_for_rows_of_old_spelling():
    """The rows leave PostgreSQL with the letters of source and reason as their last cells:
    each row's pair becomes its words, a row written before the source letters keeps its
    source's word, and nothing else in a row (a quoted address with commas and letters)
    changes."""
    chunk = (
        b"a@example.com,2026-03-01 10:00:00,l,u\n"
        b'"x,l,u@example.com",2026-03-01 10:00:00,i,c\n'
        b"\\x0a1b,2026-03-01 10:00:00,a,b\n"
        b"old@example.com,2026-03-01 10:00:00,import,m\n"
    )

    assert _ENDING.sub(_ending_words, chunk) == (
        b"a@example.com,2026-03-01 10:00:00,unsubscribe_link,unsubscribe\n"
        b'"x,l,u@example.com",2026-03-01 10:00:00,import,complaint\n'
        b"\\x0a1b,2026-03-01 10:00:00,api,hard_bounce\n"
        b"old@example.com,2026-03-01 10:00:00,import,manual\n"
    )
