"""Imports of other providers' unsubscribe lists only add (R9, SPEC "Imports only add")."""

import io
from datetime import UTC, datetime, timedelta

import pytest

from compliance.models import OptInMethod, Suppression
from compliance.selectors import is_suppressed
from compliance.services import (
    FileRefused,
    optin_record,
    suppression_record,
    suppressions_import,
)
from core.actors import Actor
from tests.compliance.factories import SuppressionFactory
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

BY = Actor.system("import_suppressions")


def run(account, path, now, *, dry_run=False, name=None):
    with open(path, "rb") as stream:
        return suppressions_import(
            account=account,
            stream=stream,
            file_name=name or path.name,
            by=BY,
            now=now,
            dry_run=dry_run,
        )


def run_bytes(account, data: bytes, now, *, name="list.csv", dry_run=False):
    return suppressions_import(
        account=account,
        stream=io.BytesIO(data),
        file_name=name,
        by=BY,
        now=now,
        dry_run=dry_run,
    )


@pytest.mark.parametrize(
    ("sample", "layout", "added", "skipped", "repeated"),
    [
        ("unsubscribed_members_export_8f3a2c1d9e.csv", "Mailchimp", 4, 0, 1),
        ("constant_contact_contacts_export.csv", "Constant Contact", 3, 3, 0),
        ("sendgrid_suppression_unsubscribes.csv", "SendGrid", 4, 0, 0),
        ("listmonk_subscribers_export.csv", "listmonk", 2, 3, 0),
        ("plain_list.csv", "list of addresses", 5, 0, 0),
        ("headerless_list.txt", "headerless", 3, 0, 0),
    ],
)
def test_every_sample_format_imports_with_the_right_counts(
    samples, now, sample, layout, added, skipped, repeated
):
    account = AccountFactory()

    preview = run(account, samples / sample, now, dry_run=True)
    assert not Suppression.objects.filter(account=account).exists()
    outcome = run(account, samples / sample, now)

    assert layout in outcome.layout
    assert (preview.added, preview.already, preview.rejected) == (added, 0, 0)
    assert preview.summary().startswith(f"would add {added}, already suppressed 0, lifted 0")
    assert (outcome.added, outcome.skipped, outcome.repeated, outcome.rejected) == (
        added,
        skipped,
        repeated,
        0,
    )
    assert Suppression.objects.filter(account=account, source="import").count() == added


def test_mailchimp_dates_and_duplicates_keep_the_earliest_date(samples, now):
    account = AccountFactory()

    run(account, samples / "unsubscribed_members_export_8f3a2c1d9e.csv", now)

    carla = Suppression.objects.get(account=account, normalised="carla.diaz@example.com")
    assert carla.at == datetime(2021, 6, 1, 8, 0, tzinfo=UTC)
    assert carla.address == "carla.diaz@example.com" and carla.evidence == "line 6"
    assert Suppression.objects.filter(
        account=account, normalised="david@xn--bcher-kva.example"
    ).exists()


def test_import_merges_with_existing_keeping_the_earliest_date_without_editing(now):
    account = AccountFactory()
    existing = suppression_record(
        account=account,
        address="karin@example.at",
        source="unsubscribe_link",
        at=datetime(2024, 6, 1, tzinfo=UTC),
        by=Actor.system("unsubscribe_link"),
    )
    data = b"email,created\nkarin@example.at,1672531200\n"  # 2023-01-01

    outcome = run_bytes(account, data, now)

    assert (outcome.added, outcome.already) == (0, 1)
    existing.refresh_from_db()
    assert existing.at == datetime(2024, 6, 1, tzinfo=UTC)  # never edited
    from compliance.selectors import suppression_current

    current = suppression_current(account, "karin@example.at", at=now)
    assert current.at == datetime(2023, 1, 1, tzinfo=UTC) and current.source == "import"


def test_reimporting_the_same_file_adds_nothing(samples, now):
    account = AccountFactory()
    run(account, samples / "plain_list.csv", now)

    again = run(account, samples / "plain_list.csv", now + timedelta(hours=1))

    assert (again.added, again.already) == (0, 5)
    assert Suppression.objects.filter(account=account).count() == 5


def test_import_never_lifts_and_an_older_row_stays_below_a_later_optin_R9(agent, now):
    account = AccountFactory()
    optin_record(
        account=account,
        address="olga@example.com",
        at=now - timedelta(days=30),
        method=OptInMethod.WRITTEN_CONSENT,
        origin="letter of 1 Oct",
        evidence="scan 42",
        by=agent,
        now=now,
    )
    SuppressionFactory(account=account, address="kept@example.com", normalised="kept@example.com")
    data = b"email,created\nolga@example.com,1577836800\n"  # 2020: before the opt-in

    outcome = run_bytes(account, data, now)

    assert (outcome.added, outcome.superseded) == (0, 1)
    assert not is_suppressed(account, "olga@example.com", at=now)
    assert is_suppressed(account, "kept@example.com", at=now)


def test_manager_import_that_omits_a_suppression_keeps_it_R9(make_role_user, now):
    account = AccountFactory()
    SuppressionFactory(account=account, address="old@example.com", normalised="old@example.com")
    manager = make_role_user("Manager")

    outcome = suppressions_import(
        account=account,
        stream=io.BytesIO(b"email\nnew@example.com\n"),
        file_name="list.csv",
        by=Actor.staff(manager),
        now=now,
        dry_run=False,
    )

    assert outcome.added == 1
    assert is_suppressed(account, "old@example.com", at=now)


def test_dirty_rows_are_reported_by_line_and_good_rows_imported(samples, now):
    account = AccountFactory()

    outcome = run(account, samples / "dirty_rows.csv", now)

    assert outcome.added == 3
    assert outcome.rejected == 5
    lines = {line: reason for line, reason in outcome.problems}
    assert set(lines) == {3, 4, 5, 6, 8}
    assert "no @" in lines[3]
    assert "empty" in lines[4]
    assert "glued" in lines[5] and "glued" in lines[6]
    assert "invalid domain" in lines[8]
    assert outcome.summary() == "added 3, already suppressed 0, lifted 0, rejected 5"
    spaced = Suppression.objects.get(account=account, normalised="spaced.good@example.com")
    assert spaced.address == "Spaced.Good@Example.com"
    # A date that cannot be read keeps the row, suppressed as of the import.
    assert Suppression.objects.get(account=account, normalised="good.two@example.com").at == now


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "empty.csv", "empty"),
        (b"\xef\xbb\xbf\r\n", "bom-only.csv", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "logo.png", "not a text file"),
        (b"name,city\nAnna,Berlin\n", "people.csv", "no address column"),
        (b"email\nana@example.com\n\xff\xfe broken\n", "latin.csv", "not UTF-8"),
        (
            b"Email Address,First Name,LEID\nx@example.com,X,1\n",
            "subscribed_members_export_123.csv",
            "subscribed-members export",
        ),
    ],
)
def test_bad_files_are_refused_with_a_clear_message_and_nothing_written(data, name, message, now):
    account = AccountFactory()

    with pytest.raises(FileRefused, match=message):
        run_bytes(account, data, now, name=name)

    assert not Suppression.objects.filter(account=account).exists()


def test_crlf_lf_bom_and_header_case_are_all_read(now):
    account = AccountFactory()
    data = "\ufeffE-Mail Address;Name\r\nzoe@example.com;Zoë\r\n".encode()

    outcome = run_bytes(account, data, now)

    assert outcome.added == 1 and outcome.rejected == 0
