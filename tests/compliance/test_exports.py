"""CAN-SPAM hand-over exports (R10)."""

import csv
import hashlib
import io
from datetime import timedelta

import pytest

from accounts.models import AccountStatus
from compliance.models import OptInMethod, SuppressionExport
from compliance.services import (
    ExportRefused,
    optin_record,
    suppression_export,
    suppression_record,
)
from core.actors import Actor
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

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
