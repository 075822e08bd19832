"""Imports of other providers' unsubscribe lists only add (R9, SPEC "Imports only add")."""

import io
from datetime import UTC, datetime, timedelta

import pytest

from compliance.layouts import parse_date, parse_seconds
from compliance.models import OptInMethod, Suppression
from compliance.selectors import is_suppressed
from compliance.services import (
    ColumnMapping,
    FileRefused,
    MappingNeeded,
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
        ("unsubscribed_members_export_8f3a2c1d9e.csv", "mailchimp_unsubscribed", 4, 0, 1),
        ("constant_contact_contacts_export.csv", "constantcontact_contacts", 3, 3, 0),
        ("sendgrid_suppression_unsubscribes.csv", "sendgrid_unsubscribes", 4, 0, 0),
        ("listmonk_subscribers_export.csv", "listmonk_blocklisted", 2, 3, 0),
        ("plain_list.csv", "list", 5, 0, 0),
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

    assert outcome.layout == layout
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
    assert carla.address == "carla.diaz@example.com"
    assert carla.evidence == "line 6: UNSUB_REASON: NORMAL; UNSUB_CAMPAIGN_TITLE: June"
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


def test_import_never_lifts_and_an_older_row_stays_below_a_later_optin_R9(
    agent, now, optin_signed_off
):
    account = AccountFactory()
    optin_record(
        account=account,
        address="olga@example.com",
        at=now - timedelta(days=30),
        method=OptInMethod.WRITTEN_CONSENT,
        origin="letter of 1 Oct",
        evidence="scan 42",
        **optin_signed_off,
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
    lines = {line: str(reason) for line, reason in outcome.problems}
    assert set(lines) == {3, 4, 5, 6, 8}
    assert "no @" in lines[3]
    assert "empty" in lines[4]
    assert "glued" in lines[5] and "glued" in lines[6]
    assert "invalid domain" in lines[8]
    assert outcome.summary() == (
        "added 3, already suppressed 0, lifted 0, rejected 5 "
        "(1 dated at the import (no readable date))"
    )
    spaced = Suppression.objects.get(account=account, normalised="spaced.good@example.com")
    assert spaced.address == "Spaced.Good@Example.com"
    # A date that cannot be read keeps the row, suppressed as of the import, and says so.
    assert Suppression.objects.get(account=account, normalised="good.two@example.com").at == now
    assert [(line, str(n)) for line, n in outcome.notices] == [
        (9, "date 'not a date' cannot be read: suppressed as of the import")
    ]


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


# --- Issue: provider files read as they really are -------------------------------------------


def test_constant_contact_export_with_both_status_columns_suppresses_the_unsubscribed(now):
    """Constant Contact writes "Email status" (Unsubscribed, Active, ...) and "Email permission
    status" (Express, Implied) side by side; the first says who unsubscribed."""
    account = AccountFactory()
    data = (
        b"Email address,First name,Email status,Email permission status\n"
        b"una@example.com,Una,Unsubscribed,Implied\n"
        b"vic@example.com,Vic,Active,Express\n"
        b"wes@example.com,Wes,Unsubscribed,Express\n"
    )

    run_bytes(account, data, now, name="contacts_export.csv")

    assert set(
        Suppression.objects.filter(account=account).values_list("normalised", flat=True)
    ) == {"una@example.com", "wes@example.com"}


def test_mailchimp_cleaned_export_is_imported_as_hard_bounces(now):
    account = AccountFactory()
    data = (
        b"Email Address,MEMBER_RATING,CLEAN_TIME,CLEAN_CAMPAIGN_TITLE,LEID,EUID\n"
        b"bounced@example.com,1,2023-07-14 03:00:00,Summer Sale,1,a\n"
    )

    run_bytes(account, data, now, name="cleaned_members_export_2b7c4e1f09.csv")

    row = Suppression.objects.get(account=account)
    assert (row.normalised, row.at) == ("bounced@example.com", datetime(2023, 7, 14, 3, tzinfo=UTC))
    assert row.reason == "b"


def test_hubspot_export_suppresses_only_contacts_unsubscribed_from_all_email(now):
    account = AccountFactory()
    data = (
        b"Record ID,Email,Unsubscribed from all email\n"
        b"1,out@example.com,true\n2,in@example.com,false\n3,blank@example.com,\n"
        b"4,also.out@example.com,true\n"
    )

    outcome = run_bytes(account, data, now, name="hubspot-crm-exports-all-contacts.csv")

    assert set(
        Suppression.objects.filter(account=account).values_list("normalised", flat=True)
    ) == {"out@example.com", "also.out@example.com"}
    assert outcome.skipped == 2


def test_mailgun_bounces_with_rfc_2822_dates_are_read(now):
    account = AccountFactory()
    data = (
        b"address,code,error,created_at\n"
        b'nina@example.com,550,No such mailbox,"Mon, 06 May 2024 18:11:58 UTC"\n'
    )

    run_bytes(account, data, now, name="bounces.csv")

    row = Suppression.objects.get(account=account)
    assert row.at == datetime(2024, 5, 6, 18, 11, 58, tzinfo=UTC)
    assert (row.reason, row.evidence) == ("b", "line 2: code: 550; error: No such mailbox")


def test_amazon_ses_json_of_list_suppressed_destinations_is_imported_with_reasons(now):
    account = AccountFactory()
    data = (
        b'{"SuppressedDestinationSummaries": [\n'
        b'  {"EmailAddress": "c@example.com", "Reason": "COMPLAINT",'
        b' "LastUpdateTime": 1586552585.077},\n'
        b'  {"EmailAddress": "b@example.com", "Reason": "BOUNCE",'
        b' "LastUpdateTime": "2020-04-10T21:03:05+00:00"}\n'
        b"]}\n"
    )

    outcome = run_bytes(account, data, now, name="suppressed.json")

    rows = {s.normalised: (s.at, s.reason) for s in Suppression.objects.filter(account=account)}
    assert rows == {
        "c@example.com": (datetime(2020, 4, 10, 21, 3, 5, 77000, tzinfo=UTC), "c"),
        "b@example.com": (datetime(2020, 4, 10, 21, 3, 5, tzinfo=UTC), "b"),
    }
    assert outcome.layout == "ses_json"


def test_a_large_ses_json_is_read_entry_by_entry_with_lines_of_bad_entries(now):
    account = AccountFactory()
    entries = ",\n".join(
        f'{{"EmailAddress": "p{i}@example.com", "Reason": "BOUNCE", "LastUpdateTime": '
        f"{1600000000 + i}.5}}"
        for i in range(5_000)
    )
    data = f'{{"SuppressedDestinationSummaries": [\n{entries},\n{{"Reason": "BOUNCE"}}]}}'

    outcome = run_bytes(account, data.encode(), now, name="ses.json")

    assert (outcome.added, outcome.rejected) == (5_000, 1)
    assert [(line, str(p)) for line, p in outcome.problems] == [(5_002, "empty: no address")]


def test_fractional_epoch_seconds_in_a_csv_are_read(now):
    account = AccountFactory()

    run_bytes(account, b"email,created\nf@example.com,1586552585.077\n", now)

    assert Suppression.objects.get(account=account).at == datetime(
        2020, 4, 10, 21, 3, 5, 77000, tzinfo=UTC
    )


def test_epoch_cells_are_staged_as_the_moment_a_date_cell_means(now):
    """The import reads epoch cells (most lists' dates) straight to seconds, and every other
    form through the full date reader: both give the moment parse_date gives, and a cell too
    early, unreadable or in the future is dated at the import and listed by line."""
    cells = [
        "1735689600",  # seconds
        "1735689600123",  # milliseconds
        "173568960012",  # twelve digits are milliseconds: 1975, too early
        " 1735689600 ",  # spaces around
        "2024-05-06T18:11:58Z",
        "2024-02-29 17:45:12.000001 +0000 +0000",
        "Mon, 06 May 2024 18:11:58 UTC",
        "10/03/2023 2:15 PM",
        "599999999",  # 1989: before any provider's records
        "99999999999",  # the year 5138
        "soon",
    ]
    for cell in cells:
        moment = parse_date(cell)
        assert parse_seconds(cell) == (None if moment is None else moment.timestamp()), cell

    account = AccountFactory()
    rows = "".join(f'p{i}@example.com,"{cell.strip()}"\n' for i, cell in enumerate(cells))
    outcome = run_bytes(account, f"email,created\n{rows}".encode(), now)

    stored = {s.normalised: (s.at, s.evidence) for s in Suppression.objects.filter(account=account)}
    for i, cell in enumerate(cells):
        moment = parse_date(cell)
        expected = moment if moment is not None and moment <= now else now
        # The evidence of a row without the provider's words is its line.
        assert stored[f"p{i}@example.com"] == (expected, f"line {i + 2}"), cell
    assert [line for line, _ in outcome.notices] == [4, 10, 11, 12]


def test_listmonk_go_dates_are_read_not_replaced_by_the_import_time(now):
    """listmonk writes Go's Time.String(): '2024-01-03 15:04:05.123456 +0000 +0000'."""
    account = AccountFactory()
    data = (
        b"uuid,email,name,attributes,status,created_at,updated_at\n"
        b"5f0a7c2e-1d3b-4e8a-9b6c-0a1b2c3d4e5f,go@example.com,Go,{},blocklisted,"
        b"2022-01-01 00:00:00 +0000 +0000,2024-01-03 15:04:05.123456 +0000 +0000\n"
    )

    outcome = run_bytes(account, data, now, name="subscribers.csv")

    assert Suppression.objects.get(account=account).at == datetime(
        2024, 1, 3, 15, 4, 5, 123456, tzinfo=UTC
    )
    assert outcome.undated == 0


def test_listmonk_duplicates_keep_the_earliest_go_date(now):
    """The review's finding: listmonk's dates were not read, so "keep the earliest date" fell
    back to the import's moment for listmonk files (issue 12, item 6)."""
    account = AccountFactory()
    data = (
        b"uuid,email,name,attributes,status,created_at,updated_at\n"
        b"1,dup@example.com,A,{},blocklisted,2022-01-01 00:00:00 +0000 +0000,"
        b"2024-05-06 18:11:58.5 +0000 +0000\n"
        b"2,DUP@example.com,B,{},blocklisted,2022-01-01 00:00:00 +0000 +0000,"
        b"2024-01-03 15:04:05.123456 +0000 +0000 m=+0.001200001\n"
        b"\n"
    )

    outcome = run_bytes(account, data, now, name="subscribers.csv")

    assert (outcome.added, outcome.repeated, outcome.rejected, outcome.undated) == (1, 1, 0, 0)
    assert Suppression.objects.get(account=account).at == datetime(
        2024, 1, 3, 15, 4, 5, 123456, tzinfo=UTC
    )


def test_an_unreadable_date_is_reported_by_line_not_silently_replaced(now):
    account = AccountFactory()
    data = b"email,created\nok@example.com,1704067200\nodd@example.com,31/31/2024\n"

    outcome = run_bytes(account, data, now)

    assert outcome.undated == 1
    assert [(line, str(n)) for line, n in outcome.notices] == [
        (3, "date '31/31/2024' cannot be read: suppressed as of the import")
    ]
    assert "1 dated at the import" in outcome.summary()


def test_blank_lines_are_not_rows_and_a_blank_trailing_line_is_not_rejected(now):
    account = AccountFactory()
    data = b"email\r\nfirst@example.com\r\n\r\n,\r\nsecond@example.com\r\n\r\n\r\n"

    outcome = run_bytes(account, data, now)

    assert (outcome.rows, outcome.added, outcome.rejected) == (2, 2, 0)
    assert outcome.problems == []


def test_sendgrid_bounces_and_blocks_look_alike_and_only_bounces_suppress(now):
    account = AccountFactory()
    data = b"email,created,reason,status\nx@example.com,1714000000,550 unknown user,5.1.1\n"

    with pytest.raises(FileRefused, match="keep 'bounces' or 'blocks' in the file name"):
        run_bytes(account, data, now, name="suppressions.csv")
    blocks = run_bytes(account, data, now, name="blocks.csv")
    bounces = run_bytes(account, data, now, name="bounces.csv")

    assert (blocks.layout, blocks.skipped, blocks.added) == ("sendgrid_blocks", 1, 0)
    assert (bounces.layout, bounces.added) == ("sendgrid_bounces", 1)
    assert Suppression.objects.get(account=account).reason == "b"


def test_mailchimp_subscribed_export_is_refused_naming_the_files_to_import(now):
    account = AccountFactory()
    data = b"Email Address,MEMBER_RATING,OPTIN_TIME,LEID,EUID\nx@example.com,2,2020-01-01,1,a\n"

    with pytest.raises(FileRefused, match="cleaned_members_export"):
        run_bytes(account, data, now, name="subscribed_members_export_1.csv")


def test_reasons_of_each_row_are_kept_with_the_providers_words(now):
    account = AccountFactory()
    data = (
        b"Email Address,MEMBER_RATING,UNSUB_TIME,UNSUB_REASON,UNSUB_REASON_OTHER,LEID,EUID\n"
        b"spam@example.com,1,2024-01-01 10:00:00,SPAM,,1,a\n"
        b"bye@example.com,1,2024-01-02 10:00:00,OTHER,Moved away,2,b\n"
    )

    run_bytes(account, data, now, name="unsubscribed_members_export_1.csv")

    rows = {s.normalised: (s.reason, s.evidence) for s in Suppression.objects.all()}
    assert rows == {
        "spam@example.com": ("c", "line 2: UNSUB_REASON: SPAM"),
        "bye@example.com": ("u", "line 3: UNSUB_REASON: OTHER; UNSUB_REASON_OTHER: Moved away"),
    }


def test_the_hand_over_export_reimports_to_the_same_addresses_and_reasons_R10(now):
    """A neutralised cell ('=1+1@example.com) is restored: the same keys, not new ones."""
    from compliance.services import suppression_export

    source, target = AccountFactory(), AccountFactory()
    for address, kind in [
        ("=1+1@example.com", "complaint"),
        ("+tag@example.com", "bounce"),
        ("plain@example.com", "unsubscribe_link"),
        ("-dash@example.com", "staff"),
    ]:
        suppression_record(
            account=source,
            address=address,
            source=kind,
            at=now - timedelta(days=3),
            by=BY,
        )
    exported = b"".join(
        suppression_export(account=source, purpose="hand-over", fmt="csv", by=BY, now=now)
    )
    assert b"'=1+1@example.com" in exported

    outcome = run_bytes(target, exported, now, name="unsubscribes-source-csv-20261125.csv")

    assert outcome.layout == "handover" and outcome.rejected == 0
    assert {(s.normalised, s.at, s.reason) for s in Suppression.objects.filter(account=target)} == {
        (s.normalised, s.at, s.reason) for s in Suppression.objects.filter(account=source)
    }


def test_a_hashed_hand_over_export_is_refused_it_holds_no_addresses(now):
    with pytest.raises(FileRefused, match="hashed hand-over export"):
        run_bytes(AccountFactory(), b"email_md5,suppressed_at_utc,source,reason\n", now)


def test_a_json_file_that_is_not_the_ses_list_is_refused(now):
    with pytest.raises(FileRefused, match="not Amazon SES's suppression list"):
        run_bytes(AccountFactory(), b'{"contacts": []}', now, name="x.json")


# --- The mapping step -------------------------------------------------------------------------


STATUS_TABLE = (
    b"Kontakt;Zustand;Abgemeldet am\n"
    b"eins@example.de;abgemeldet;2024-03-01 10:00:00\n"
    b"zwei@example.de;aktiv;\n"
    b"drei@example.de;ABGEMELDET;2024-03-03 10:00:00\n"
)


def test_a_table_no_layout_matches_asks_for_a_mapping_instead_of_a_guess(now):
    account = AccountFactory()

    with pytest.raises(MappingNeeded) as refused:
        run_bytes(account, STATUS_TABLE, now, name="export.csv")

    assert "no address column" in str(refused.value)
    assert refused.value.columns[1] == {
        "name": "Zustand",
        "examples": ["abgemeldet", "aktiv", "ABGEMELDET"],
    }
    assert not Suppression.objects.filter(account=account).exists()


def test_a_table_with_a_status_like_column_is_not_read_as_all_suppressed(now):
    account = AccountFactory()
    data = b"email,subscription\nin@example.com,subscribed\nout@example.com,unsubscribed\n"

    with pytest.raises(MappingNeeded, match="'subscription' may say who is not to be mailed"):
        run_bytes(account, data, now)

    assert not Suppression.objects.filter(account=account).exists()


def test_a_column_mapping_reads_the_address_status_values_and_date(now):
    account = AccountFactory()
    mapping = ColumnMapping(
        address_column="Kontakt",
        status_column="Zustand",
        suppressed_values=("Abgemeldet",),
        date_column="Abgemeldet am",
        reason="u",
        name="Altsystem",
    )

    outcome = suppressions_import(
        account=account,
        stream=io.BytesIO(STATUS_TABLE),
        file_name="export.csv",
        by=BY,
        now=now,
        dry_run=False,
        mapping=mapping,
    )

    assert (outcome.layout, outcome.added, outcome.skipped) == ("mapping", 2, 1)
    assert {(s.normalised, s.at) for s in Suppression.objects.filter(account=account)} == {
        ("eins@example.de", datetime(2024, 3, 1, 10, tzinfo=UTC)),
        ("drei@example.de", datetime(2024, 3, 3, 10, tzinfo=UTC)),
    }
    assert outcome.because_args["values"] == "Abgemeldet"


def test_a_mapping_naming_a_column_the_file_lacks_is_refused(now):
    mapping = ColumnMapping(address_column="E-Mail")

    with pytest.raises(FileRefused, match="expects the address in a column 'E-Mail'"):
        suppressions_import(
            account=AccountFactory(),
            stream=io.BytesIO(STATUS_TABLE),
            file_name="export.csv",
            by=BY,
            now=now,
            dry_run=True,
            mapping=mapping,
        )


def test_a_mapping_with_a_status_column_needs_the_values_that_mean_suppressed():
    with pytest.raises(FileRefused, match="say which values of the status column"):
        ColumnMapping(address_column="Kontakt", status_column="Zustand")
