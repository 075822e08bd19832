"""The compliance commands report progress on standard error: plain lines off a terminal."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import AccountStatus
from compliance.models import SuppressionSource
from compliance.services import suppression_export, suppression_record
from core import progress as progress_module
from core.actors import Actor
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def every_step(monkeypatch):
    monkeypatch.setattr(progress_module, "LOG_EVERY_SECONDS", 0)


def progress_lines(err: io.StringIO, label: str) -> list[str]:
    return [line for line in err.getvalue().splitlines() if line.startswith(f"{label}: ")]


def test_import_command_prints_rows_read_and_done(samples):
    AccountFactory(username="prairie-books")
    out, err = io.StringIO(), io.StringIO()

    call_command(
        "import_suppressions",
        "--account",
        "prairie-books",
        str(samples / "plain_list.csv"),
        stdout=out,
        stderr=err,
    )

    lines = progress_lines(err, "reading plain_list.csv")
    assert lines[-1].startswith("reading plain_list.csv: 5 rows (")
    assert lines[-1].endswith(" done")
    assert "added 5" in out.getvalue()


def test_import_command_of_a_refused_file_ends_its_progress_with_stopped(tmp_path):
    AccountFactory(username="known")
    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"\x00\x01\x02 binary")
    err = io.StringIO()

    with pytest.raises(CommandError, match="not a text file"):
        call_command("import_suppressions", "--account", "known", str(binary), stderr=err)

    assert progress_lines(err, "reading photo.csv")[-1].endswith(" stopped")


def test_export_command_prints_rows_written_and_done_R10(tmp_path):
    account = AccountFactory(username="riverside")
    now = timezone.now()
    for i in range(3):
        suppression_record(
            account=account,
            address=f"reader{i}@example.com",
            source=SuppressionSource.UNSUBSCRIBE_LINK,
            at=now - timedelta(days=1),
            by=Actor.system("test"),
        )
    target, err = tmp_path / "list.csv", io.StringIO()

    call_command(
        "export_suppressions",
        "--account",
        "riverside",
        "--purpose",
        "hand-over, ticket 12",
        "--output",
        str(target),
        stderr=err,
    )

    lines = progress_lines(err, "exporting riverside")
    assert lines[0].startswith("exporting riverside: 3 rows (")
    assert lines[-1].startswith("exporting riverside: 3 rows (") and lines[-1].endswith(" done")
    assert len(target.read_text().splitlines()) == 4


def test_export_service_reports_rows_per_chunk_and_writes_the_same_bytes_R10(monkeypatch):
    from compliance.services import exports

    # PostgreSQL's COPY path hands on chunks of EXPORT_CHUNK_BYTES, the generic path (SQLite,
    # the embedded default) of EXPORT_CHUNK_ROWS rows: both shrunk, so ten rows make several
    # chunks whichever path this database takes.
    monkeypatch.setattr(exports, "EXPORT_CHUNK_BYTES", 64)
    monkeypatch.setattr(exports, "EXPORT_CHUNK_ROWS", 3)
    account = AccountFactory(username="lakeside")
    now = timezone.now()
    for i in range(10):
        suppression_record(
            account=account,
            address=f"member{i}@example.org",
            source=SuppressionSource.STAFF,
            at=now - timedelta(hours=1),
            by=Actor.system("test"),
        )

    def export(**kwargs) -> bytes:
        return b"".join(
            suppression_export(
                account=account, purpose="audit", fmt="csv", by=Actor.system("t"), now=now, **kwargs
            )
        )

    steps: list[int] = []
    with_progress = export(progress=steps.append)

    assert with_progress == export()
    assert sum(steps) == 10 and len(steps) > 1


def test_purge_command_prints_accounts_purged_and_done_R7(now):
    AccountFactory.create_batch(
        2, status=AccountStatus.CANCELLED, inactive_since=now - timedelta(days=200)
    )
    out, err = io.StringIO(), io.StringIO()

    call_command("purge_inactive", "--as-of", now.isoformat(), stdout=out, stderr=err)

    lines = progress_lines(err, "purge_inactive")
    assert lines[0].startswith("purge_inactive: 2 accounts (")
    assert lines[-1].endswith(" done")
    assert "accounts_purged=2" in out.getvalue()


def test_runjob_purge_inactive_dry_run_counts_accounts_off_a_terminal_R7(now):
    AccountFactory.create_batch(
        3, status=AccountStatus.CANCELLED, inactive_since=now - timedelta(days=200)
    )
    out, err = io.StringIO(), io.StringIO()

    call_command(
        "runjob", "purge_inactive", "--dry-run", "--as-of", now.isoformat(), stdout=out, stderr=err
    )

    lines = progress_lines(err, "purge_inactive")
    assert lines[-1].startswith("purge_inactive: 3 items (") and lines[-1].endswith(" done")
    assert "accounts=3" in out.getvalue()
