"""Every CSV the back office writes is safe to open in a spreadsheet (SPEC "Compliance
details"): a cell starting with = + - @ tab or carriage return is neutralised with a leading
quote (core.csvsafe), whatever free text a customer, a caller or an uploaded file put
into the field it comes from.

Each export below is run end to end (the admin download, the management command, the
PostgreSQL COPY of the hand-over export) after formulas were stored in every free-text field
it writes; the parsed file must not hold a single cell a spreadsheet would run.
"""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from accounts.models import AccountStatus
from billing.models import EntryKind, LedgerEntry
from compliance.models import ExportFormat
from compliance.services.exports import _stream_generic
from core.csvsafe import FORMULA_STARTS, neutralise
from exchanges.models import ImportRecord, ImportStatus
from jobs.models import JobRun
from tests.accounts.factories import CancellationReasonFactory, CancellationRequestFactory
from tests.billing.factories import AddOnFactory, PlanFactory
from tests.compliance.factories import SuppressionFactory
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

# What a spreadsheet would run, and the two characters that can hide a formula (csvsafe's rule
# covers them too).
FORMULAS = ('=HYPERLINK("http://x","y")', "+1", "-1", "@SUM(A1)", "\t=1+2", "\r=1+2")
AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _text(response) -> str:
    assert response.status_code == 200, response.status_code
    data = (
        b"".join(response.streaming_content)
        if getattr(response, "streaming", False)
        else response.content
    )
    return data.decode("utf-8-sig")


def _account(formula: str):
    return AccountFactory(
        username=formula,
        company=formula,
        primary_email=f"{formula}@example.com",
        legal_hold_reason=formula,
        status=AccountStatus.ACTIVE,
    )


# --- the exports: each stores the formulas in the fields it writes, runs, returns the CSV ---


def account_list(client, superuser):
    for formula in FORMULAS:
        _account(formula)
    client.force_login(superuser)
    return _text(client.get("/admin/accounts/account/export-csv/"))


def cancellation_requests(client, superuser):
    for formula in FORMULAS:
        CancellationRequestFactory(
            account=_account(formula),
            reason=CancellationReasonFactory(name=formula),
            callers_words=formula,
            by_job=formula,
        )
    client.force_login(superuser)
    return _text(client.get("/admin/accounts/cancellationrequest/export-csv/"))


def ledger(client, superuser):
    for formula in FORMULAS:
        LedgerEntry.objects.create(
            account=_account(formula),
            at=AT,
            kind=EntryKind.PAYMENT,
            amount=Decimal("5.00"),
            currency="USD",
            description=formula,
            reference=formula,
            by_job=formula,
        )
    client.force_login(superuser)
    return _text(client.get("/admin/billing/ledgerentry/export-csv/"))


def job_runs(client, superuser):
    for formula in FORMULAS:
        JobRun.objects.create(
            job=formula,
            as_of=AT,
            trigger=JobRun.Trigger.COMMAND,
            started_at=AT,
            error=formula,
            worker=formula,
        )
    client.force_login(superuser)
    return _text(client.get("/admin/jobs/jobrun/export-csv/"))


def _catalogue_export(client, superuser, path: str, resource: str, fields) -> str:
    client.force_login(superuser)
    data = {"format": "0", "resource": "0"} | {f"{resource}_{f}": "on" for f in fields}
    return _text(client.post(path, data))


def plans(client, superuser):
    for i, formula in enumerate(FORMULAS):
        PlanFactory(code=f"plan-{i}", name=formula)
    fields = ("code", "name", "monthly_price", "currency", "active")
    return _catalogue_export(
        client, superuser, "/admin/billing/plan/export/", "planresource", fields
    )


def addons(client, superuser):
    for i, formula in enumerate(FORMULAS):
        AddOnFactory(code=f"addon-{i}", name=formula)
    fields = ("code", "name", "monthly_price", "currency", "active")
    path = "/admin/billing/addon/export/"
    return _catalogue_export(client, superuser, path, "addonresource", fields)


def cancellation_reasons(client, superuser):
    for formula in FORMULAS:
        CancellationReasonFactory(name=formula)
    path = "/admin/accounts/cancellationreason/export/"
    return _catalogue_export(
        client, superuser, path, "cancellationreasonresource", ("name", "active")
    )


def import_row_errors(client, superuser):
    """A manager's file with formulas in its cells and its header, refused row by row: the
    row errors download repeats the file's columns and values."""
    errors = [
        {
            "line": i + 2,
            "key": formula,
            "column": formula,
            "error": formula,
            "values": [["username", formula], [formula, formula]],
        }
        for i, formula in enumerate(FORMULAS)
    ]
    record = ImportRecord.objects.create(
        at=AT,
        by_user=superuser,
        model="accounts.account",
        resource="AccountResource",
        file_name="changes.csv",
        status=ImportStatus.REFUSED,
        row_errors=errors,
    )
    client.force_login(superuser)
    return _text(client.get(f"/admin/exchanges/importrecord/{record.pk}/row-errors.csv"))


def _suppressed_account():
    account = AccountFactory(username="handover")
    for formula in FORMULAS:
        address = f"{formula}@list.example"
        SuppressionFactory(account=account, address=address, normalised=address)
    return account


def suppression_handover_admin(client, superuser):
    """The compliance officer's hand-over download: on PostgreSQL the rows come from COPY."""
    account = _suppressed_account()
    client.force_login(superuser)
    response = client.post(
        "/admin/compliance/suppressionexport/export/",
        {"account": account.username, "format": "csv", "purpose": "hand-over to new provider"},
    )
    return _text(response)


def suppression_handover_command(client, superuser):
    """`manage.py export_suppressions --output FILE`: the same COPY, written to a file."""
    _suppressed_account()
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "handover.csv"
        call_command(
            "export_suppressions",
            account="handover",
            purpose="hand-over",
            output=str(output),
            stderr=io.StringIO(),
        )
        return output.read_bytes().decode("utf-8")


def suppression_handover_generic(client, superuser):
    """The path other databases take (a cursor read in chunks), run here too."""
    account = _suppressed_account()
    header = "email,suppressed_at_utc,source,reason\n"
    chunks = _stream_generic(account, ExportFormat.CSV, datetime(2027, 1, 1, tzinfo=UTC), [0])
    return header + b"".join(chunks).decode("utf-8")


EXPORTS = {
    "accounts list (admin, streamed)": account_list,
    "cancellation requests (admin, streamed)": cancellation_requests,
    "ledger (admin, streamed)": ledger,
    "job runs (admin, streamed)": job_runs,
    "plans (admin, import-export)": plans,
    "add-ons (admin, import-export)": addons,
    "cancellation reasons (admin, import-export)": cancellation_reasons,
    "import row errors (admin download)": import_row_errors,
    "unsubscribe hand-over (admin, PostgreSQL COPY)": suppression_handover_admin,
    "unsubscribe hand-over (export_suppressions command)": suppression_handover_command,
    "unsubscribe hand-over (generic cursor path)": suppression_handover_generic,
}
COPY_PATH = {
    "unsubscribe hand-over (admin, PostgreSQL COPY)",
    "unsubscribe hand-over (export_suppressions command)",
}


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=[pytest.mark.postgres] if n in COPY_PATH else []) for n in EXPORTS],
)
def test_no_exported_cell_starts_a_formula(name, client, django_user_model):
    superuser = django_user_model.objects.create_superuser("root.csv", password="x")
    if name in COPY_PATH:
        assert connection.vendor == "postgresql"

    text = EXPORTS[name](client, superuser)

    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) > len(FORMULAS)  # a header and at least one row per formula
    cells = [cell for row in rows for cell in row]
    running = [cell for cell in cells if cell.startswith(FORMULA_STARTS)]
    assert running == [], f"{name}: cells a spreadsheet would run"
    # Every formula went out, as text: the export did write the planted fields.
    for formula in FORMULAS:
        assert any(cell.startswith(neutralise(formula)) for cell in cells), (name, formula)
