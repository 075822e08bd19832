"""CAN-SPAM hand-over exports (R10)."""

import csv
import hashlib
import io
import json
from datetime import timedelta

import psycopg
import pytest
from django.db import connection, transaction

from accounts.models import AccountStatus
from compliance.models import OptInMethod, Suppression, SuppressionExport
from compliance.services import (
    ExportRefused,
    optin_record,
    suppression_export,
    suppression_record,
)
from core.actors import Actor
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the export reads COPY on PostgreSQL"
)

LINK = Actor.system("unsubscribe_link")
EXPORTER = Actor.system("export_suppressions")


def export(account, now, fmt="csv", by=EXPORTER, purpose="Hand-over to the next provider"):
    data = b"".join(suppression_export(account=account, purpose=purpose, fmt=fmt, by=by, now=now))
    return list(csv.reader(io.StringIO(data.decode())))


def seed(account, now):
    for i, (address, source) in enumerate(
        [
            ("Anna@Example.com", "unsubscribe_link"),
            ("=cmd@example.com", "complaint"),
            ("+tag@example.com", "staff"),
            ("jörg@bücher.example", "import"),
            ("lifted@example.com", "bounce"),
        ]
    ):
        suppression_record(
            account=account,
            address=address,
            source=source,
            at=now - timedelta(days=10 - i),
            by=LINK,
        )
    optin_record(
        account=account,
        address="lifted@example.com",
        at=now - timedelta(days=1),
        method=OptInMethod.DOUBLE_OPT_IN,
        origin="confirmation link",
        evidence="token confirmed",
        by=LINK,
        now=now,
    )


def test_export_of_a_purged_account_lists_every_suppressed_address_R10(now):
    account = AccountFactory(status=AccountStatus.PURGED)
    seed(account, now)

    rows = export(account, now)

    assert rows[0] == ["email", "suppressed_at_utc", "source", "reason"]
    by_email = {r[0]: r for r in rows[1:]}
    assert set(by_email) == {
        "anna@example.com",
        "'=cmd@example.com",
        "'+tag@example.com",
        "jörg@xn--bcher-kva.example",
    }
    assert by_email["anna@example.com"][1:] == [
        (now - timedelta(days=10)).strftime("%Y-%m-%d %H:%M:%S"),
        "unsubscribe_link",
        "unsubscribe",
    ]
    record = SuppressionExport.objects.get(account=account)
    assert (record.rows, record.format, record.complete, record.by_job) == (
        4,
        "csv",
        True,
        "export_suppressions",
    )


@pytest.mark.parametrize(
    ("fmt", "digest"),
    [
        # md5 / sha256 of "test@example.com", the normalised form of " Test@EXAMPLE.com ".
        ("md5", "55502f40dc8b7c769880b10874abc9d0"),
        ("sha256", "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b"),
    ],
)
def test_hashed_exports_match_known_digests_of_normalised_addresses_R10(now, fmt, digest):
    account = AccountFactory(status=AccountStatus.PURGED)
    suppression_record(
        account=account, address=" Test@EXAMPLE.com ", source="staff", at=now, by=LINK
    )
    suppression_record(
        account=account, address="jörg@Bücher.example", source="staff", at=now, by=LINK
    )

    rows = export(account, now, fmt=fmt)

    assert rows[0][0] == f"email_{fmt}"
    idna = "jörg@xn--bcher-kva.example".encode()
    expected_idna = hashlib.md5(idna) if fmt == "md5" else hashlib.sha256(idna)
    assert sorted(r[0] for r in rows[1:]) == sorted([digest, expected_idna.hexdigest()])


@pytest.mark.parametrize("fmt", ["csv", "md5", "sha256"])
def test_every_hand_over_export_says_why_each_address_is_suppressed_R10(now, fmt):
    account = AccountFactory()
    for address, source, reason in [
        ("link@example.com", "unsubscribe_link", None),
        ("bounce@example.com", "bounce", None),
        ("complaint@example.com", "complaint", None),
        ("phone@example.com", "staff", None),
        ("imported@example.com", "import", "c"),
    ]:
        suppression_record(
            account=account, address=address, source=source, at=now, by=LINK, reason=reason
        )

    rows = export(account, now, fmt=fmt)

    assert rows[0][-1] == "reason"
    key = {
        "csv": lambda a: a,
        "md5": lambda a: hashlib.md5(a.encode()).hexdigest(),
        "sha256": lambda a: hashlib.sha256(a.encode()).hexdigest(),
    }[fmt]
    assert {r[0]: r[3] for r in rows[1:]} == {
        key("link@example.com"): "unsubscribe",
        key("bounce@example.com"): "hard_bounce",
        key("complaint@example.com"): "complaint",
        key("phone@example.com"): "manual",
        key("imported@example.com"): "complaint",
    }


def test_export_needs_a_purpose_and_compliance_permission_R10(now, make_role_user):
    account = AccountFactory()
    manager = Actor.staff(make_role_user("Manager"))

    with pytest.raises(ExportRefused, match="purpose"):
        suppression_export(account=account, purpose=" ", fmt="csv", by=EXPORTER, now=now)
    with pytest.raises(ExportRefused, match="may not export"):
        suppression_export(account=account, purpose="x", fmt="csv", by=manager, now=now)
    assert not SuppressionExport.objects.exists()


def test_interrupted_download_is_recorded_as_incomplete_R10(now):
    account = AccountFactory()
    suppression_record(account=account, address="a@example.com", source="staff", at=now, by=LINK)

    stream = suppression_export(
        account=account, purpose="hand-over", fmt="csv", by=EXPORTER, now=now
    )
    next(stream)
    stream.close()

    record = SuppressionExport.objects.get(account=account)
    assert record.complete is False


def _bulk_list(account, rows, now):
    """`rows` suppressions of one account, written in one statement (the append-only table
    takes inserts)."""
    Suppression.objects.bulk_create(
        Suppression(
            account=account,
            address=f"Person.{i}@example.com",
            normalised=f"person.{i}@example.com",
            source="import",
            reason="u",
            at=now - timedelta(days=1),
            by_job="test",
        )
        for i in range(rows)
    )


@postgres_only
def test_the_sha256_list_digests_every_row_across_chunks_R10(now):
    """The SHA-256 list is digested in the exporting process, a chunk of COPY's rows at a
    time: rows cut between chunks, an erased entry (kept as its hash) and a key holding a
    backslash (escaped by COPY) each come out as the digest of the key, with their words."""
    account = AccountFactory()
    _bulk_list(account, 3_000, now)
    erased = hashlib.sha256(b"gone@example.com").hexdigest()
    Suppression.objects.bulk_create(
        Suppression(
            account=account,
            address=address,
            normalised=key,
            source="staff",
            reason="m",
            at=now - timedelta(days=1),
            by_job="test",
        )
        for address, key in [
            ("sha256:" + erased, "sha256:" + erased),
            ("odd\\name@example.com", "odd\\name@example.com"),
        ]
    )

    rows = export(account, now, fmt="sha256")

    expected = {
        hashlib.sha256(f"person.{i}@example.com".encode()).hexdigest(): ["import", "unsubscribe"]
        for i in range(3_000)
    }
    expected[erased] = ["staff", "manual"]
    expected[hashlib.sha256(b"odd\\name@example.com").hexdigest()] = ["staff", "manual"]
    assert rows[0] == ["email_sha256", "suppressed_at_utc", "source", "reason"]
    assert {row[0]: [row[2], row[3]] for row in rows[1:]} == expected
    assert len(rows) == 1 + 3_002
    assert SuppressionExport.objects.get(account=account).rows == 3_002


@postgres_only
def test_a_download_stopped_mid_list_leaves_the_connection_usable_R10(now):
    """The export reads COPY's rows from libpq itself: a download stopped after its first
    chunk stops the statement (no reading of the rest), is recorded with the rows handed out,
    and the connection goes on serving queries."""
    account = AccountFactory()
    _bulk_list(account, 5_000, now)

    stream = suppression_export(
        account=account, purpose="hand-over", fmt="csv", by=EXPORTER, now=now
    )
    next(stream)  # the header
    first = next(stream)
    stream.close()

    record = SuppressionExport.objects.get(account=account)
    assert (record.complete, record.rows) == (False, first.count(b"\n"))
    assert 0 < record.rows < 5_000
    assert Suppression.objects.filter(account=account).count() == 5_000


@postgres_only
def test_copy_rows_arrive_whole_and_in_order_across_chunks():
    from compliance.services.exports import copy_out

    with connection.cursor() as cursor:
        pgconn = cursor.cursor.connection.pgconn
        chunks = list(
            copy_out(
                pgconn,
                b"COPY (SELECT g, repeat('x', 40) FROM generate_series(1, 20000) g) "
                b"TO STDOUT WITH (FORMAT csv)",
            )
        )
        cursor.execute("SELECT 1")  # the connection is free again
        assert cursor.fetchone() == (1,)

    assert len(chunks) > 1
    assert all(chunk.endswith(b"\n") for chunk in chunks)
    assert b"".join(chunks) == b"".join(f"{g},{'x' * 40}\n".encode() for g in range(1, 20001))


@postgres_only
@pytest.mark.parametrize(
    "query",
    [
        # refused before the first row
        "SELECT 1 / (SELECT count(*) - count(*) FROM generate_series(1, 2))",
        # refused after 60,000 rows have been sent
        "SELECT CASE WHEN g < 60000 THEN g ELSE g / (g - g) END FROM generate_series(1, 70000) g",
    ],
)
def test_a_copy_the_server_stops_raises_its_error(query):
    from compliance.services.exports import copy_out

    with pytest.raises(psycopg.errors.DivisionByZero), transaction.atomic():
        with connection.cursor() as cursor:
            pgconn = cursor.cursor.connection.pgconn
            for _chunk in copy_out(pgconn, f"COPY ({query}) TO STDOUT".encode()):
                pass
    assert SuppressionExport.objects.count() == 0  # the connection still answers


@postgres_only
def test_the_export_of_an_account_without_optins_does_not_look_for_them_R9(now):
    """R9: only an opt-in lifts a suppression. For an account with none recorded up to the
    export's moment the list is read once, without a look-up of opt-ins per row; an account
    with one takes the full definition (and the opt-in lifts its address)."""
    from compliance.services.exports import _postgres_copy_sql

    plain, lifted = AccountFactory(), AccountFactory()
    for account in (plain, lifted):
        for address in ("anna@example.com", "bob@example.com"):
            suppression_record(
                account=account,
                address=address,
                source="staff",
                at=now - timedelta(days=2),
                by=LINK,
            )
    optin_record(
        account=lifted,
        address="anna@example.com",
        at=now - timedelta(hours=1),
        method=OptInMethod.DOUBLE_OPT_IN,
        origin="confirmation link",
        evidence="token confirmed",
        by=LINK,
        now=now,
    )

    def loops_of_the_optin_lookups(account) -> int:
        query = _postgres_copy_sql("csv").split("COPY (", 1)[1].rsplit(") TO STDOUT", 1)[0]
        with connection.cursor() as cursor:
            cursor.execute(
                f"EXPLAIN (ANALYZE, FORMAT JSON) {query}", {"account": account.pk, "now": now}
            )
            plan = cursor.fetchone()[0]
        plan = plan if isinstance(plan, list) else json.loads(plan)

        def walk(node):
            yield node
            for child in node.get("Plans", []):
                yield from walk(child)

        return sum(
            node.get("Actual Loops", 0)
            for node in walk(plan[0]["Plan"])
            if node.get("Relation Name") == "compliance_optin"
            and node.get("Subplan Name") is None
            and node.get("Parent Relationship") != "InitPlan"
        )

    assert loops_of_the_optin_lookups(plain) == 0
    assert loops_of_the_optin_lookups(lifted) > 0
    assert "anna@example.com" in {row[0] for row in export(plain, now)[1:]}
    assert "anna@example.com" not in {row[0] for row in export(lifted, now)[1:]}
