"""Imports bounded and owned (issue 12, item 6): a preview shows counts and its first rows a
page at a time, whatever the file's size; large files are read and written by a worker with
progress; only the uploader confirms; previews expire and their files go."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, AccountEvent
from core.problems import shown
from exchanges import tasks
from exchanges.files import stored_path
from exchanges.models import ImportRecord, ImportStatus
from tests.exchanges.conftest import confirm, upload
from tests.factories import AccountFactory
from tests.jobrun import job

pytestmark = pytest.mark.django_db

ACCOUNTS = "accounts_account"


def preview_url(record: ImportRecord) -> str:
    return reverse(f"admin:{ACCOUNTS}_import_preview", args=[record.pk])


def messages_of(response) -> str:
    return " ".join(str(m) for m in response.wsgi_request._messages)


def shown_rows(content: bytes) -> list[str]:
    """The keys of the preview rows on a page, in order."""
    table = content.decode().split('id="import-rows"', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr>\s*<td>\d+</td><td>([^<]*)</td>", table)


def test_a_preview_of_thousands_of_unknown_usernames_is_a_bounded_page_and_one_lookup_per_round(
    manager_client, settings
):
    """The review's finding: a preview of 100,000 unknown usernames took 21 s and sent a 108 MB
    page (every row rendered). Now: the counts, the first rows a page at a time, bounded row
    errors kept, and the keys looked up once per round of rows, never per row."""
    settings.EXCHANGES_IMPORT_CHUNK_ROWS = 1000
    settings.EXCHANGES_PREVIEW_ROWS = 120
    settings.EXCHANGES_PREVIEW_PAGE_SIZE = 50
    settings.EXCHANGES_ROW_ERRORS_KEPT = 500
    AccountFactory(username="acme", company="Acme")
    rows = "".join(f"nobody-{i:05d},Ghost {i}\n" for i in range(3000))
    content = "username,company\nacme,Acme Two\n" + rows

    with CaptureQueriesContext(connection) as queries:
        response = upload(manager_client, ACCOUNTS, content)

    record = ImportRecord.objects.get()
    assert record.status == ImportStatus.REFUSED and not record.in_background
    assert (record.rows_total, record.rows_updated, record.rows_errors) == (3001, 1, 3000)
    # the page: the counts, 50 rows, the way to the rest; not 3,000 rendered rows
    assert response.status_code == 200
    assert len(response.content) < 60_000, len(response.content)
    assert b"3001 row(s)" in response.content and b"3000 with errors" in response.content
    assert shown_rows(response.content)[:2] == ["acme", "nobody-00000"]
    assert len(shown_rows(response.content)) == 50
    assert b"page 1 of 3" in response.content
    # what the record keeps is bounded too; the counts cover every row
    assert len(record.preview_rows) == 120 and len(record.row_errors) == 500
    assert record.preview_rows[0]["changes"] == [["company", "Acme", "Acme Two"]]
    assert "no account with username 'nobody-00000'" in shown(record.preview_rows[1]["errors"][0])
    # one lookup of the keys per round of 1,000 rows (4 rounds), none per row
    lookups = [q for q in queries.captured_queries if 'FROM "accounts_account"' in q["sql"]]
    assert len(lookups) <= 4 + 1, [q["sql"][:120] for q in lookups]
    assert len(queries.captured_queries) < 60


def test_the_preview_is_paginated_at_its_own_address(manager_client, settings):
    settings.EXCHANGES_PREVIEW_PAGE_SIZE = 20
    for i in range(45):
        AccountFactory(username=f"shop-{i:02d}", company=f"Shop {i}")
    content = "username,company\n" + "".join(f"shop-{i:02d},Shop {i} GmbH\n" for i in range(45))
    upload(manager_client, ACCOUNTS, content)
    record = ImportRecord.objects.get()

    second = manager_client.get(preview_url(record), {"page": 2})
    last = manager_client.get(preview_url(record), {"page": 3})

    assert second.status_code == 200
    assert shown_rows(second.content) == [f"shop-{i:02d}" for i in range(20, 40)]
    assert shown_rows(last.content) == [f"shop-{i:02d}" for i in range(40, 45)]
    assert b"Shop 41 \xe2\x86\x92 Shop 41 GmbH" in last.content
    assert b"Confirm import" in second.content


def test_a_large_file_is_previewed_and_written_by_a_worker_with_progress(
    manager_client, settings, django_capture_on_commit_callbacks
):
    settings.EXCHANGES_IMPORT_INLINE_MAX_BYTES = 100
    settings.EXCHANGES_IMPORT_CHUNK_ROWS = 7
    for i in range(30):
        AccountFactory(username=f"big-{i:02d}", company="Old")
    content = "username,company\n" + "".join(f"big-{i:02d},New {i}\n" for i in range(30))

    # the upload is kept and queued, not read in the request
    with django_capture_on_commit_callbacks() as queued:
        response = upload(manager_client, ACCOUNTS, content)
    record = ImportRecord.objects.get()
    kept = stored_path(record.stored_file)
    assert kept.exists()
    assert response.status_code == 302 and response["Location"] == preview_url(record)
    assert (record.status, record.in_background, len(queued)) == ("previewing", True, 1)
    waiting = manager_client.get(preview_url(record))
    assert b'http-equiv="refresh"' in waiting.content and b"% read" in waiting.content
    assert b"Confirm import" not in waiting.content

    # the worker previews it, counting the rows it read as it goes
    assert tasks.import_preview(record.pk) == "previewed"
    record.refresh_from_db()
    assert (record.rows_done, record.rows_total, record.rows_updated) == (30, 30, 30)
    page = manager_client.get(preview_url(record))
    assert b"Confirm import" in page.content and b"30 to update" in page.content

    # the confirmation is handed to the worker too, and the page follows it
    with django_capture_on_commit_callbacks() as queued:
        confirmed = confirm(manager_client, ACCOUNTS, record.pk)
    record.refresh_from_db()
    assert confirmed["Location"] == preview_url(record) and len(queued) == 1
    assert record.status == ImportStatus.IMPORTING
    assert b"% read" in manager_client.get(preview_url(record)).content
    assert not Account.objects.filter(company__startswith="New").exists()

    assert tasks.import_apply(record.pk) == "confirmed"
    assert Account.objects.filter(company__startswith="New").count() == 30
    assert AccountEvent.objects.count() == 30
    assert not kept.exists()
    # a task delivered twice writes nothing more
    assert tasks.import_apply(record.pk) == "confirmed"
    assert AccountEvent.objects.count() == 30


def test_a_confirmation_that_fails_in_a_late_round_writes_nothing_at_all(manager_client, settings):
    """Rounds are for progress, not for commits: the whole file or nothing."""
    settings.EXCHANGES_IMPORT_CHUNK_ROWS = 2
    for name in ("a1", "a2", "a3", "a4"):
        AccountFactory(username=name, company="Old")
    upload(manager_client, ACCOUNTS, "username,company\na1,N1\na2,N2\na3,N3\na4,N4\n")
    record = ImportRecord.objects.get()
    # between preview and confirmation the last account goes away from the file's reach
    Account.objects.filter(username="a4").update(username="a4-renamed")

    confirm(manager_client, ACCOUNTS, record.pk)

    record.refresh_from_db()
    assert record.status == ImportStatus.REFUSED
    assert not Account.objects.filter(company__startswith="N").exists()
    assert not AccountEvent.objects.exists()


def test_only_the_uploader_confirms_another_manager_is_refused_clearly(
    client, manager_client, manager, make_role_user, settings
):
    """The review's finding: a Manager confirmed someone else's preview."""
    acme = AccountFactory(username="acme", company="Acme")
    upload(manager_client, ACCOUNTS, "username,company\nacme,Acme Two\n", name="mine.csv")
    record = ImportRecord.objects.get()
    other = make_role_user("Manager", "manager.max")
    client.force_login(other)

    page = client.get(preview_url(record))
    refused = confirm(client, ACCOUNTS, record.pk)

    assert b"Confirm import" not in page.content
    assert b"only manager.mia, who uploaded mine.csv, can confirm" in page.content
    assert refused.status_code == 302
    assert "only manager.mia, who uploaded mine.csv, can confirm its preview" in messages_of(
        refused
    )
    acme.refresh_from_db()
    record.refresh_from_db()
    assert acme.company == "Acme" and record.status == ImportStatus.PREVIEWED

    # the uploader still can
    client.force_login(manager)
    done = confirm(client, ACCOUNTS, record.pk)

    assert "Imported mine.csv" in messages_of(done)
    acme.refresh_from_db()
    assert acme.company == "Acme Two"


def test_a_superuser_cannot_confirm_a_managers_preview_either(client, manager_client, admin_user):
    AccountFactory(username="acme", company="Acme")
    upload(manager_client, ACCOUNTS, "username,company\nacme,Acme Two\n")
    record = ImportRecord.objects.get()
    client.force_login(admin_user)

    refused = confirm(client, ACCOUNTS, record.pk)

    assert "only manager.mia" in messages_of(refused)
    assert Account.objects.get(username="acme").company == "Acme"


def test_a_preview_expires_after_a_day_and_the_job_closes_it_and_removes_its_file(
    manager_client, settings
):
    """The review's finding: abandoned previews stayed "awaiting confirmation" forever, their
    files kept. After IMPORT_PREVIEW_EXPIRY_HOURS a preview cannot be confirmed, and the
    expire_import_previews job marks it expired and removes its file."""
    settings.IMPORT_PREVIEW_EXPIRY_HOURS = 24
    acme = AccountFactory(username="acme", company="Acme")
    upload(manager_client, ACCOUNTS, "username,company\nacme,Acme Two\n", name="old.csv")
    record = ImportRecord.objects.get()
    kept = stored_path(record.stored_file)
    assert kept.exists()
    uploaded = timezone.now() - timedelta(hours=25)
    ImportRecord.objects.filter(pk=record.pk).update(at=uploaded)

    # past its expiry, before the job ran: refused, nothing written
    late = confirm(manager_client, ACCOUNTS, record.pk)
    assert "the preview of old.csv expired" in messages_of(late)
    acme.refresh_from_db()
    assert acme.company == "Acme"

    # a fresher preview stays
    upload(manager_client, ACCOUNTS, "username,company\nacme,Acme Three\n", name="new.csv")
    fresh = ImportRecord.objects.get(file_name="new.csv")

    counts = job("expire_import_previews")(as_of=timezone.now())

    assert counts == {"csv_imports": 1, "unsubscribe_list_imports": 0}
    record.refresh_from_db()
    fresh.refresh_from_db()
    assert record.status == ImportStatus.EXPIRED and record.expired_at is not None
    assert record.stored_file == "" and not kept.exists()
    assert fresh.status == ImportStatus.PREVIEWED and stored_path(fresh.stored_file).exists()
    again = confirm(manager_client, ACCOUNTS, record.pk)
    assert "expired unconfirmed and its file was removed" in messages_of(again)
    assert job("expire_import_previews")(as_of=timezone.now())["csv_imports"] == 0
    assert job("expire_import_previews")(as_of=timezone.now(), dry_run=True) == {
        "csv_imports": 0,
        "unsubscribe_list_imports": 0,
    }


def test_blank_lines_anywhere_are_not_rows(manager_client):
    AccountFactory(username="acme", company="Acme")

    upload(manager_client, ACCOUNTS, "username,company\r\n\r\nacme,Acme Two\r\n,\r\n\r\n")

    record = ImportRecord.objects.get()
    assert (record.rows_total, record.rows_errors, record.status) == (1, 0, "previewed")
