"""Managers' account import: preview then confirm, only the details a manager may change, each
change an account event (R12), and every bad file refused before anything is written."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import override_settings

from accounts.models import Account, AccountEvent, AccountStatus
from accounts.services import AccountDetailsError, accounts_update_details
from core.actors import Actor
from exchanges.models import ImportRecord, ImportStatus
from tests.exchanges.conftest import confirm, streamed, upload
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

ACCOUNTS = "accounts_account"


@pytest.fixture
def acme():
    return AccountFactory(username="acme", company="Acme", language="en", time_zone="UTC")


@pytest.fixture
def globex():
    return AccountFactory(username="globex", company="Globex", time_zone="Europe/Berlin")


def test_preview_writes_nothing_and_confirm_updates_details_with_events_R12(
    manager_client, manager, acme, globex
):
    # given a file changing acme's company and language, globex unchanged
    content = (
        "Username,Company,Primary Email,Language,Time Zone\n"
        "acme,Acme Corp,billing@acme.test,de,Europe/Vienna\n"
        f"globex,Globex,{globex.primary_email},en,Europe/Berlin\n"
    )

    # when previewed
    preview = upload(manager_client, ACCOUNTS, content, name="march.csv")

    # then nothing is written, and the preview is recorded with its counts
    assert preview.status_code == 200
    acme.refresh_from_db()
    assert acme.company == "Acme"
    record = ImportRecord.objects.get()
    assert record.status == ImportStatus.PREVIEWED
    assert (record.by_user, record.file_name, record.model) == (
        manager,
        "march.csv",
        "accounts.account",
    )
    assert (record.rows_total, record.rows_updated, record.rows_skipped) == (2, 1, 1)
    assert b"Confirm import" in preview.content

    # when confirmed
    done = confirm(manager_client, ACCOUNTS, record.pk)

    # then acme changed, with one event saying who and what changed
    assert done.status_code == 302
    acme.refresh_from_db()
    assert (acme.company, acme.primary_email, acme.language, acme.time_zone) == (
        "Acme Corp",
        "billing@acme.test",
        "de",
        "Europe/Vienna",
    )
    assert acme.status == AccountStatus.ACTIVE
    event = AccountEvent.objects.get(account=acme)
    assert event.kind == "details_changed" and event.by_user == manager
    assert "company: Acme → Acme Corp" in event.reason
    assert "language: en → de" in event.reason
    assert "march.csv" in event.reason
    assert not AccountEvent.objects.filter(account=globex).exists()
    record.refresh_from_db()
    assert record.status == ImportStatus.CONFIRMED and record.rows_updated == 1
    messages = [str(m) for m in done.wsgi_request._messages]
    assert any("1 updated" in m and "1 unchanged" in m for m in messages)


def test_a_second_confirm_of_the_same_preview_is_refused(manager_client, acme):
    upload(manager_client, ACCOUNTS, "username,company\nacme,Acme Two\n")
    record = ImportRecord.objects.get()
    confirm(manager_client, ACCOUNTS, record.pk)

    again = confirm(manager_client, ACCOUNTS, record.pk)

    assert again.status_code == 302
    assert "new preview" in " ".join(str(m) for m in again.wsgi_request._messages)
    assert AccountEvent.objects.filter(account=acme).count() == 1


@pytest.mark.parametrize(
    "content",
    [
        "username,legal_hold\nheld,no\n",
        "username,legal_hold,legal_hold_reason\nheld,no,\n",
        "username,company,legal_hold_reason\nheld,Held Ltd,\n",
        "username,legal_hold,legal_hold_reason\nacme,yes,Case 12\n",
    ],
)
def test_a_managers_import_never_sets_or_releases_a_legal_hold_R7(manager_client, acme, content):
    """The review's finding: a Manager's file with legal_hold=no released a hold in one step,
    and the next purge deleted the account's contacts. Legal holds are Compliance's alone."""
    held = AccountFactory(
        username="held",
        status=AccountStatus.CANCELLED,
        legal_hold=True,
        legal_hold_reason="Litigation hold: matter 7",
    )

    refused = upload(manager_client, ACCOUNTS, content)

    text = refused.content.decode()
    assert "cannot be imported" in text and "Compliance only" in text, text[-3000:]
    record = ImportRecord.objects.get()
    assert record.status == ImportStatus.REFUSED and "legal_hold" in record.message_shown
    held.refresh_from_db()
    acme.refresh_from_db()
    assert (held.legal_hold, held.legal_hold_reason) == (True, "Litigation hold: matter 7")
    assert not acme.legal_hold
    assert not AccountEvent.objects.exists()


def test_a_managers_role_no_longer_holds_the_legal_hold_permission_R7(manager):
    assert not manager.has_perm("accounts.set_legal_hold")


def test_our_own_export_re_imports_with_the_legal_hold_columns_unchanged(manager_client, acme):
    held = AccountFactory(username="held", legal_hold=True, legal_hold_reason="Case 9")
    exported = streamed(manager_client.get("/admin/accounts/account/export-csv/"))
    rows = list(csv.DictReader(io.StringIO(exported.lstrip("\ufeff"))))
    for row in rows:
        if row["username"] == "acme":
            row["company"] = "Acme Renamed"
    out = io.StringIO()
    columns = ["username", "company", "legal_hold", "legal_hold_reason"]
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)

    preview = upload(manager_client, ACCOUNTS, out.getvalue())
    assert preview.status_code == 200
    record = ImportRecord.objects.get()
    assert record.status == ImportStatus.PREVIEWED, record.message_shown
    confirm(manager_client, ACCOUNTS, record.pk)

    acme.refresh_from_db()
    held.refresh_from_db()
    assert acme.company == "Acme Renamed"
    assert (held.legal_hold, held.legal_hold_reason) == (True, "Case 9")
    assert set(AccountEvent.objects.values_list("kind", flat=True)) == {"details_changed"}


def test_the_details_service_refuses_a_legal_hold_whoever_asks_R7(acme, make_role_user, now):
    officer = Actor.staff(make_role_user("Compliance"))
    with pytest.raises(AccountDetailsError, match="legal_hold"):
        accounts_update_details(
            changes={"acme": {"legal_hold": True, "legal_hold_reason": "Case 1"}},
            by=officer,
            now=now,
            source="file.csv",
        )
    acme.refresh_from_db()
    assert not acme.legal_hold


@pytest.mark.parametrize(
    ("header", "value", "action"),
    [
        ("status", "cancelled", "Take cancellation call"),
        ("prepaid_balance", "500.00", "Record a payment"),
        ("balance", "10", "Record a payment"),
        ("amount", "10", "Refund charge"),
    ],
)
def test_file_changing_status_balance_or_ledger_is_refused_naming_column_and_action(
    manager_client, acme, header, value, action
):
    response = upload(manager_client, ACCOUNTS, f"username,company,{header}\nacme,New,{value}\n")

    text = response.content.decode()
    assert f"the column &#x27;{header}&#x27; cannot be imported" in text
    assert action in text
    acme.refresh_from_db()
    assert (acme.company, acme.status) == ("Acme", AccountStatus.ACTIVE)
    record = ImportRecord.objects.get()
    assert record.status == ImportStatus.REFUSED and header in record.message_shown


def test_reimported_export_with_unchanged_status_column_is_accepted(manager_client, acme):
    response = upload(manager_client, ACCOUNTS, "username,company,status\nacme,Acme B,active\n")

    assert b"Confirm import" in response.content
    assert ImportRecord.objects.get().status == ImportStatus.PREVIEWED


def test_service_refuses_status_even_if_asked_directly(acme, agent, now):
    with pytest.raises(AccountDetailsError, match="may not change status"):
        accounts_update_details(
            changes={"acme": {"status": "cancelled"}}, by=agent, now=now, source="x.csv"
        )
    acme.refresh_from_db()
    assert acme.status == AccountStatus.ACTIVE


def test_unknown_username_is_a_row_error_and_never_creates_an_account(manager_client, acme):
    response = upload(manager_client, ACCOUNTS, "username,company\nacme,A2\nnobody,Ghost Inc\n")

    assert b"no account with username" in response.content
    assert b"Confirm import" not in response.content
    assert not Account.objects.filter(username="nobody").exists()
    record = ImportRecord.objects.get()
    assert record.status == ImportStatus.REFUSED
    assert record.rows_errors == 1
    assert record.row_errors[0]["line"] == 3
    assert record.row_errors[0]["key"] == "nobody"
    acme.refresh_from_db()
    assert acme.company == "Acme"


def test_invalid_values_are_row_errors(manager_client, acme):
    response = upload(manager_client, ACCOUNTS, "username,time_zone,language\nacme,Mars/Base,xx\n")

    assert b"not a known time zone" in response.content
    record = ImportRecord.objects.get()
    assert {e["column"] for e in record.row_errors} == {"time_zone", "language"}


def test_wrong_encoding_is_refused_naming_the_byte(manager_client, acme):
    latin1 = "username,company\nacme,Müller GmbH\n".encode("latin-1")

    response = upload(manager_client, ACCOUNTS, latin1)

    text = response.content.decode()
    assert "the file is not UTF-8 (byte 0xfc at position 23)" in text
    assert "CSV UTF-8" in text
    assert ImportRecord.objects.get().status == ImportStatus.REFUSED


def test_utf8_with_bom_and_semicolons_is_read(manager_client, acme):
    content = "\ufeffusername;company\nacme;Müller GmbH\n".encode()

    response = upload(manager_client, ACCOUNTS, content)

    assert b"Confirm import" in response.content
    confirm(manager_client, ACCOUNTS, ImportRecord.objects.get().pk)
    acme.refresh_from_db()
    assert acme.company == "Müller GmbH"


def test_missing_key_column_is_refused(manager_client, acme):
    response = upload(manager_client, ACCOUNTS, "user,company\nacme,X\n")

    assert b"the file has no &#x27;username&#x27; column" in response.content
    assert ImportRecord.objects.get().status == ImportStatus.REFUSED


def test_duplicated_keys_are_refused_with_their_lines(manager_client, acme):
    response = upload(manager_client, ACCOUNTS, "username,company\nacme,A\nacme,B\n")

    assert b"repeated (first on line 2)" in response.content
    record = ImportRecord.objects.get()
    assert record.status == ImportStatus.REFUSED
    assert record.row_errors[0]["line"] == 3
    acme.refresh_from_db()
    assert acme.company == "Acme"


@override_settings(ADMIN_UPLOAD_MAX_BYTES=100)
def test_file_over_the_admin_size_limit_is_refused(manager_client, acme):
    content = "username,company\n" + "acme,Acme\n" * 20

    response = upload(manager_client, ACCOUNTS, content)

    assert b"the admin accepts files up to 100 bytes" in response.content
    assert ImportRecord.objects.get().status == ImportStatus.REFUSED


def test_confirm_after_the_data_changed_is_refused_and_asks_for_a_new_preview(manager_client, acme):
    upload(manager_client, ACCOUNTS, "username,company\nacme,From the file\n")
    record = ImportRecord.objects.get()
    # someone changes acme between preview and confirmation
    Account.objects.filter(pk=acme.pk).update(company="Changed meanwhile")

    response = confirm(manager_client, ACCOUNTS, record.pk)

    acme.refresh_from_db()
    assert acme.company == "Changed meanwhile"
    assert not AccountEvent.objects.filter(account=acme).exists()
    record.refresh_from_db()
    assert record.status == ImportStatus.REFUSED
    assert "Upload the file again for a new preview" in " ".join(
        str(m) for m in response.wsgi_request._messages
    )


def test_row_errors_of_an_import_can_be_downloaded(manager_client, acme):
    upload(manager_client, ACCOUNTS, "username,company\nacme,=HYPERLINK(1)\nghost,X\n")
    record = ImportRecord.objects.get()

    listing = manager_client.get("/admin/exchanges/importrecord/")
    download = manager_client.get(f"/admin/exchanges/importrecord/{record.pk}/row-errors.csv")

    assert b"download row errors" in listing.content
    rows = list(csv.reader(io.StringIO(streamed(download).lstrip("\ufeff"))))
    assert rows[0] == ["line", "key", "column", "error", "username", "company"]
    assert rows[1][:3] == ["3", "ghost", "username"]
    assert "no account with username" in rows[1][3]


def test_services_record_who_changed_what(acme, agent, now):
    counts = accounts_update_details(
        changes={"acme": {"company": "Acme 2", "time_zone": "Asia/Tokyo"}},
        by=agent,
        now=now,
        source="api.csv",
    )

    assert counts == {"updated": 1, "unchanged": 0, "events": 1}
    event = AccountEvent.objects.get(account=acme)
    assert event.by_user == agent.user and event.at == now
    assert (
        event.reason == "company: Acme → Acme 2; time zone: UTC → Asia/Tokyo (CSV import api.csv)"
    )
    assert Actor.staff(agent.user).label == "agent.smith"


def test_file_and_row_problems_are_reported_together_with_the_files_line_numbers(
    manager_client, acme, globex
):
    """Issue 13 item 7: a protected column, a long row, a repeated username and the rows' own
    errors in one upload, each row by its line in the file (header 1, blank lines counted)."""
    content = (
        "username,company,time_zone,legal_hold\n"  # 1
        "acme,Acme B,UTC,yes\n"  # 2: would set a legal hold (the file's problem)
        "\n"  # 3: blank
        "nobody,Ghost,UTC,no\n"  # 4: no such account
        "acme,Again,UTC,no\n"  # 5: repeated
        "globex,G,Mars/Base,no\n"  # 6: no such time zone
        "globex2,a,b,c,d,e\n"  # 7: too many cells
    )

    response = upload(manager_client, ACCOUNTS, content)

    record = ImportRecord.objects.get()
    assert record.status == ImportStatus.REFUSED
    assert "the column 'legal_hold' cannot be imported" in record.message_shown
    assert "line 5: username 'acme' repeated (first on line 2)" in record.message_shown
    assert "line 7 has 6 cells but the header has 4" in record.message_shown
    assert [e["line"] for e in record.row_errors] == [4, 5, 6, 7]
    assert record.rows_errors == 4
    text = response.content.decode()
    assert "legal_hold" in text and "repeated (first on line 2)" in text
    # the preview's rows carry the same lines as the errors
    assert {row["row"] for row in record.preview_rows} == {2, 4, 6}
    acme.refresh_from_db()
    assert (acme.company, acme.legal_hold) == ("Acme", False)
