"""Uploads larger than the admin's limit are refused with a message naming the limit, and
nothing of them is written (SPEC "Scale": larger files go through the management commands).

The limit is ADMIN_UPLOAD_MAX_BYTES (backoffice/settings.py, read from the environment,
50 MiB by default); request bodies other than files are held to DATA_UPLOAD_MAX_MEMORY_SIZE,
and files above FILE_UPLOAD_MAX_MEMORY_SIZE are streamed to disk, not held in memory.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Account, CancellationReason
from billing.models import AddOn, Plan
from compliance.models import Suppression, SuppressionImport
from exchanges.models import ImportRecord, ImportStatus
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

MIB = 1024 * 1024
LIMIT = 1 * MIB  # a small limit for the tests; the file is a little over it

# Every CSV import page of the admin, the column its file is keyed on and what it writes.
IMPORTS = {
    "accounts_account": ("username", Account),
    "accounts_cancellationreason": ("name", CancellationReason),
    "billing_plan": ("code", Plan),
    "billing_addon": ("code", AddOn),
}


def _oversized(header: str) -> bytes:
    line = b"x" * 99 + b"\n"
    return header.encode() + b"\n" + line * (LIMIT // len(line) + 100)


def test_upload_limits_are_set_and_read_from_the_environment():
    assert 0 < settings.ADMIN_UPLOAD_MAX_BYTES
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE <= 10 * MIB
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE <= 10 * MIB
    settings_source = (settings.BASE_DIR / "backoffice" / "settings.py").read_text()
    assert 'env.integer("ADMIN_UPLOAD_MAX_BYTES", 50 * 1024 * 1024)' in settings_source


@pytest.mark.parametrize("app_model", sorted(IMPORTS))
def test_a_csv_import_over_the_limit_is_refused_naming_the_limit(
    app_model, make_role_user, client, settings
):
    settings.ADMIN_UPLOAD_MAX_BYTES = LIMIT
    key, model = IMPORTS[app_model]
    before = model.objects.count()
    client.force_login(make_role_user("Manager"))
    data = _oversized(key)
    assert len(data) > LIMIT

    response = client.post(
        f"/admin/{app_model.replace('_', '/', 1)}/import/",
        {"format": "0", "resource": "0", "import_file": SimpleUploadedFile("big.csv", data)},
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "Nothing was imported" in page
    assert "the admin accepts files up to 1.0 MiB (ADMIN_UPLOAD_MAX_BYTES)" in page
    assert model.objects.count() == before
    record = ImportRecord.objects.get()  # the refusal is recorded, nothing else
    assert record.status == ImportStatus.REFUSED and record.stored_file == ""


def test_a_csv_import_within_the_limit_is_previewed(make_role_user, client, settings):
    settings.ADMIN_UPLOAD_MAX_BYTES = LIMIT
    client.force_login(make_role_user("Manager"))

    response = client.post(
        "/admin/billing/plan/import/",
        {
            "format": "0",
            "resource": "0",
            "import_file": SimpleUploadedFile(
                "plans.csv", b"code,name,monthly_price,currency,active\nnew,New,5.00,USD,yes\n"
            ),
        },
    )

    assert "Confirm import" in response.content.decode()


@pytest.mark.parametrize("role", ["Compliance", "Manager"])
def test_an_unsubscribe_list_over_the_limit_is_refused_naming_the_limit(
    role, make_role_user, client, settings
):
    settings.ADMIN_UPLOAD_MAX_BYTES = LIMIT
    AccountFactory(username="big-list")
    client.force_login(make_role_user(role))

    page = client.get("/admin/compliance/suppressionimport/import/").content.decode()
    assert "Files up to 1 MB" in page  # the upload page says the limit before the upload

    response = client.post(
        "/admin/compliance/suppressionimport/import/",
        {"account": "big-list", "import_file": SimpleUploadedFile("big.csv", _oversized("email"))},
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "the admin takes files up to 1 MB" in page
    assert "manage.py import_suppressions" in page
    assert not SuppressionImport.objects.exists() and not Suppression.objects.exists()
