"""Exports stream, follow the changelist's filters and are safe in a spreadsheet; only managers
get the import and export buttons."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.http import StreamingHttpResponse

from accounts.models import AccountStatus, CancellationReason, CancellationRequest
from billing.models import EntryKind, LedgerEntry, Plan
from core.csvsafe import neutralise, restore
from exchanges.models import ImportRecord, ImportStatus
from jobs.models import JobRun
from tests.exchanges.conftest import confirm, streamed, upload
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def rows_of(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = streamed(response)
    assert text.startswith("\ufeff")  # spreadsheets read it as UTF-8
    return list(csv.reader(io.StringIO(text[1:])))


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://evil.test","click")', '\'=HYPERLINK("http://evil.test","click")'),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Acme", "Acme"),
        (Decimal("-5.00"), "'-5.00"),
        (True, "yes"),
        (None, ""),
    ],
)
def test_cells_starting_a_formula_are_neutralised_and_restored_on_import(value, cell):
    assert neutralise(value) == cell
    if isinstance(value, str):
        assert restore(cell) == value


def test_account_export_streams_the_filtered_list_with_neutralised_cells(manager_client):
    for i, company in enumerate(['=HYPERLINK("http://x.test")', "+1", "-1", "@SUM(A1)"]):
        AccountFactory(username=f"paused-{i}", company=company, status=AccountStatus.PAUSED)
    AccountFactory(username="active-1", company="Fine Inc", status=AccountStatus.ACTIVE)

    response = manager_client.get("/admin/accounts/account/export-csv/?status__exact=paused")

    rows = rows_of(response)
    header, body = rows[0], rows[1:]
    assert header[:6] == ["username", "company", "primary_email", "language", "time_zone", "status"]
    assert [r[0] for r in body] == ["paused-0", "paused-1", "paused-2", "paused-3"]
    assert [r[1] for r in body] == ['\'=HYPERLINK("http://x.test")', "'+1", "'-1", "'@SUM(A1)"]
    assert "attachment;" in response["Content-Disposition"]


def test_exported_accounts_import_back_unchanged(manager_client):
    AccountFactory(username="formula", company="=1+2", status=AccountStatus.ACTIVE)
    exported = streamed(manager_client.get("/admin/accounts/account/export-csv/"))

    preview = upload(manager_client, "accounts_account", exported)

    assert b"Confirm import" in preview.content
    record = ImportRecord.objects.get()
    assert (record.rows_updated, record.rows_skipped) == (0, 1)


def test_changelist_has_the_export_button_with_current_filters(manager_client):
    page = manager_client.get("/admin/accounts/account/?status__exact=paused")

    assert b"/admin/accounts/account/export-csv/?status__exact=paused" in page.content
    assert b"/admin/accounts/account/import/" in page.content


def test_cancellation_request_export_has_the_managers_columns(manager_client):
    account = AccountFactory(username="leaving", status=AccountStatus.CANCELLED)
    CancellationRequest.objects.create(
        account=account,
        at=datetime(2026, 11, 20, 9, 30, tzinfo=UTC),
        reason=CancellationReason.objects.get(name="Too expensive"),
        callers_words="-too much, =cheaper elsewhere",
        voluntary=True,
        outcome="cancelled",
        pause_offered=True,
        pause_accepted=False,
        in_time=True,
        confirmation_sent_at=datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
    )

    rows = rows_of(manager_client.get("/admin/accounts/cancellationrequest/export-csv/"))

    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["date"] == "2026-11-20 09:30:00+00:00"
    assert record["account"] == "leaving"
    assert record["reason"] == "Too expensive"
    assert record["callers_words"] == "'-too much, =cheaper elsewhere"
    assert record["voluntary"] == "voluntary"
    assert record["saved_by_pause"] == "no"
    assert record["in_time_for_billing_date"] == "yes"
    assert record["confirmation_sent_at"] == "2026-11-20 10:00:00+00:00"


def test_ledger_and_job_runs_export_stream_and_follow_filters(manager_client):
    account = AccountFactory(username="payer")
    at = datetime(2026, 11, 1, tzinfo=UTC)
    LedgerEntry.objects.create(
        account=account, at=at, kind=EntryKind.PAYMENT, amount=Decimal("10.00"), currency="USD"
    )
    LedgerEntry.objects.create(
        account=account, at=at, kind=EntryKind.CHARGE, amount=Decimal("45.00"), currency="USD"
    )
    JobRun.objects.create(job="run_billing", as_of=at, trigger="schedule", started_at=at)
    JobRun.objects.create(job="expire_trials", as_of=at, trigger="schedule", started_at=at)

    ledger = rows_of(
        manager_client.get("/admin/billing/ledgerentry/export-csv/?kind__exact=charge")
    )
    runs = rows_of(manager_client.get("/admin/jobs/jobrun/export-csv/?job=run_billing"))

    assert [(r[2], r[3], r[4]) for r in ledger[1:]] == [("payer", "charge", "45.00")]
    assert [r[1] for r in runs[1:]] == ["run_billing"]


def test_plan_import_creates_and_updates_the_catalogue(manager_client):
    Plan.objects.create(code="starter", name="Starter", monthly_price=Decimal("9.00"))
    content = (
        "code,name,monthly_price,currency,active\n"
        "starter,Starter,12.00,USD,yes\n"
        "pro,Pro,99.00,USD,no\n"
    )

    upload(manager_client, "billing_plan", content)
    record = ImportRecord.objects.get()
    assert (record.rows_new, record.rows_updated) == (1, 1)
    confirm(manager_client, "billing_plan", record.pk)

    assert Plan.objects.get(code="starter").monthly_price == Decimal("12.00")
    assert Plan.objects.get(code="pro").active is False
    record.refresh_from_db()
    assert record.status == ImportStatus.CONFIRMED


def test_system_reason_cannot_be_changed_by_import(manager_client):
    response = upload(
        manager_client, "accounts_cancellationreason", "name,active\nNon-payment,yes\n"
    )

    assert b"system" in response.content
    assert not CancellationReason.objects.get(name="Non-payment").active


@pytest.mark.parametrize("role", ["Support", "Billing"])
def test_only_managers_see_and_use_import_and_export(role, make_role_user, client, manager):
    client.force_login(manager)
    page = client.get("/admin/accounts/account/")
    assert b"Import CSV" in page.content and b"Export filtered list" in page.content
    form = client.get("/admin/accounts/account/import/")
    assert form.status_code == 200 and b"username" in form.content
    assert client.get("/admin/billing/plan/export/").status_code == 200

    client.force_login(make_role_user(role))
    page = client.get("/admin/accounts/account/")
    assert page.status_code == 200
    assert b"Import CSV" not in page.content
    assert b"Export filtered list" not in page.content
    assert client.get("/admin/accounts/account/import/").status_code == 403
    assert client.get("/admin/accounts/account/export-csv/").status_code == 403
    assert client.get("/admin/accounts/cancellationrequest/export-csv/").status_code == 403
    assert client.get("/admin/exchanges/importrecord/").status_code == 403


def test_demo_shows_confirmed_refused_and_expired_imports_with_row_errors(now):
    import random

    from exchanges import demo

    summary = demo.seed(rng=random.Random(1), now=now, count=40)

    assert "confirmed" in summary and "refused" in summary and "1 expired" in summary
    statuses = set(ImportRecord.objects.values_list("status", flat=True))
    assert statuses == {ImportStatus.CONFIRMED, ImportStatus.REFUSED, ImportStatus.EXPIRED}
    expired = ImportRecord.objects.get(status=ImportStatus.EXPIRED)
    assert expired.preview_rows and expired.stored_file == ""
    assert ImportRecord.objects.exclude(row_errors=[]).exists()
