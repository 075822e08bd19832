"""The compliance commands: import and export for any size, purge listing."""

import hashlib
import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from accounts.models import AccountStatus
from compliance.models import Suppression, SuppressionExport, SuppressionImport
from compliance.services import suppression_record
from core.actors import Actor
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def test_import_command_imports_a_sample_and_reports_bad_lines(samples):
    account = AccountFactory(username="prairie-books")
    out, err = io.StringIO(), io.StringIO()

    call_command(
        "import_suppressions",
        "--account",
        "prairie-books",
        str(samples / "dirty_rows.csv"),
        stdout=out,
        stderr=err,
    )

    assert "added 3, already suppressed 0, lifted 0, rejected 5" in out.getvalue()
    assert "line 5: two addresses glued together" in err.getvalue()
    assert Suppression.objects.filter(account=account).count() == 3
    record = SuppressionImport.objects.get(account=account)
    assert record.status == "done" and record.counts["added"] == 3


def test_import_command_dry_run_writes_nothing(samples):
    account = AccountFactory(username="lakeside")
    out = io.StringIO()

    call_command(
        "import_suppressions",
        "--account",
        "lakeside",
        "--dry-run",
        str(samples / "plain_list.csv"),
        stdout=out,
    )

    assert "would add 5" in out.getvalue()
    assert not Suppression.objects.filter(account=account).exists()
    assert not SuppressionImport.objects.exists()


def test_import_command_refuses_unknown_account_and_bad_file_writing_nothing(samples, tmp_path):
    AccountFactory(username="known")
    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"\x00\x01\x02 binary")

    with pytest.raises(CommandError, match="no account with username 'nobody'"):
        call_command("import_suppressions", "--account", "nobody", str(samples / "plain_list.csv"))
    with pytest.raises(CommandError, match="not a text file.*nothing was written"):
        call_command("import_suppressions", "--account", "known", str(binary))

    assert not Suppression.objects.exists()
    assert not SuppressionImport.objects.exists()


@pytest.mark.parametrize("fmt", ["csv", "md5", "sha256"])
def test_export_command_writes_the_list_of_a_purged_account_and_records_it_R10(tmp_path, now, fmt):
    account = AccountFactory(username="gone-co", status=AccountStatus.PURGED)
    for address in ("a@example.com", "b@example.com"):
        suppression_record(
            account=account,
            address=address,
            source="staff",
            at=now - timedelta(days=1),
            by=Actor.system("x"),
        )
    output = tmp_path / "list.csv"

    call_command(
        "export_suppressions",
        "--account",
        "gone-co",
        "--purpose",
        "Hand-over to NewMail Inc.",
        "--format",
        fmt,
        "--output",
        str(output),
        stderr=io.StringIO(),
    )

    lines = output.read_text().splitlines()
    assert len(lines) == 3
    first = lines[1].split(",")[0]
    expected = {
        "csv": "a@example.com",
        "md5": hashlib.md5(b"a@example.com").hexdigest(),
        "sha256": hashlib.sha256(b"a@example.com").hexdigest(),
    }[fmt]
    assert first == expected
    record = SuppressionExport.objects.get(account=account)
    assert (record.rows, record.format, record.purpose) == (2, fmt, "Hand-over to NewMail Inc.")
    assert record.by_job.startswith("export_suppressions")


def test_export_command_refuses_unknown_account():
    with pytest.raises(CommandError, match="no account with username 'ghost'"):
        call_command("export_suppressions", "--account", "ghost", "--purpose", "x")
    assert not SuppressionExport.objects.exists()


def test_purge_dry_run_command_lists_accounts_and_counts(now):
    AccountFactory(
        username="old-shop", status=AccountStatus.EXPIRED, inactive_since=now - timedelta(days=200)
    )
    AccountFactory(
        username="recent", status=AccountStatus.CANCELLED, inactive_since=now - timedelta(days=30)
    )
    out = io.StringIO()

    call_command("purge_inactive", "--dry-run", "--as-of", now.isoformat(), stdout=out)

    assert "old-shop" in out.getvalue() and "recent" not in out.getvalue()
    assert "would purge 1 accounts" in out.getvalue()


def test_import_command_asks_for_a_mapping_naming_the_columns_and_writes_nothing(tmp_path):
    AccountFactory(username="orchard")
    path = tmp_path / "altsystem.csv"
    path.write_bytes(b"Kontakt;Zustand\neins@example.de;abgemeldet\nzwei@example.de;aktiv\n")

    with pytest.raises(CommandError, match="Its columns: 'Kontakt', 'Zustand'. Give --address"):
        call_command("import_suppressions", "--account", "orchard", str(path))

    assert not Suppression.objects.exists() and not SuppressionImport.objects.exists()


def test_import_command_reads_a_table_with_a_mapping_given_or_saved(tmp_path):
    from compliance.models import SuppressionMapping
    from compliance.services import ColumnMapping, suppression_mapping_save

    account = AccountFactory(username="orchard")
    path = tmp_path / "altsystem.csv"
    path.write_bytes(
        b"Kontakt;Zustand;Datum\n"
        b"eins@example.de;abgemeldet;2024-03-01T10:00:00+01:00\n"
        b"zwei@example.de;aktiv;\n"
        b"drei@example.de;bounce;2024-03-02T10:00:00Z\n"
    )
    out = io.StringIO()

    call_command(
        "import_suppressions",
        "--account",
        "orchard",
        str(path),
        "--address-column",
        "kontakt",
        "--status-column",
        "Zustand",
        "--suppressed-values",
        "Abgemeldet",
        "--date-column",
        "Datum",
        stdout=out,
    )
    suppression_mapping_save(
        name="Altsystem Bounces",
        mapping=ColumnMapping(
            address_column="Kontakt",
            status_column="Zustand",
            suppressed_values=("bounce",),
            reason="b",
        ),
        by=Actor.system("test"),
        now=timezone.now(),
    )
    call_command(
        "import_suppressions", "--account", "orchard", str(path), "--mapping", "Altsystem Bounces"
    )

    assert "read as saved column mapping" in out.getvalue()
    assert dict(
        Suppression.objects.filter(account=account).values_list("normalised", "reason")
    ) == {
        "eins@example.de": "u",
        "drei@example.de": "b",
    }
    assert SuppressionMapping.objects.get().suppressed_values == ["bounce"]
    with pytest.raises(CommandError, match="no saved column mapping named 'nope'"):
        call_command("import_suppressions", "--account", "orchard", str(path), "--mapping", "nope")


def test_import_command_takes_a_layout_the_file_cannot_tell(samples):
    account = AccountFactory(username="lakeside")
    out = io.StringIO()

    call_command(
        "import_suppressions",
        "--account",
        "lakeside",
        "--layout",
        "listmonk_list_unsubscribed",
        str(samples / "listmonk_subscribers_export.csv"),
        stdout=out,
    )

    assert "(listmonk_list_unsubscribed)" in out.getvalue()
    assert Suppression.objects.filter(account=account).count() == 5


def test_import_command_speaks_the_operators_language(samples):
    """Issue 13 item 1: the command's lines and its rows' problems in German; the layout's
    tokens and the file's name as they are."""
    AccountFactory(username="prairie-books")
    out, err = io.StringIO(), io.StringIO()

    with translation.override("de"):
        call_command(
            "import_suppressions",
            "--account",
            "prairie-books",
            str(samples / "dirty_rows.csv"),
            stdout=out,
            stderr=err,
        )
        with pytest.raises(CommandError, match="kein Konto mit dem Benutzernamen 'nobody'"):
            call_command(
                "import_suppressions", "--account", "nobody", str(samples / "plain_list.csv")
            )

    assert "3 hinzugefügt, bereits gesperrt 0" in out.getvalue()
    assert "Zeile 5: zwei zusammengeklebte Adressen" in err.getvalue()
    assert "line 5" not in err.getvalue() and "read as" not in out.getvalue()
