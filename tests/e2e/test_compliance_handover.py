"""Compliance in a real browser: the hand-over export (R10) and a Mailchimp import (R9)."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from compliance.models import Suppression, SuppressionExport, SuppressionSource
from compliance.services import suppression_record
from core.actors import Actor
from tests.factories import AccountFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SAMPLES = Path(__file__).parent.parent / "compliance" / "samples"


def staff(make_role_user, role: str, username: str, password: str):
    user = make_role_user(role, username=username)
    user.set_password(password)
    user.save()
    return user


def test_compliance_officer_downloads_the_handover_csv_with_the_accounts_unsubscribes_R10(
    page, live_server, log_in, make_role_user, tmp_path
):
    staff(make_role_user, "Compliance", "officer.lee", "pw-officer-e2e")
    account = AccountFactory(username="riverside-books")
    other = AccountFactory(username="other-shop")
    now = timezone.now()
    for address in ("Reader.One@Example.com", "reader.two@example.org"):
        suppression_record(
            account=account,
            address=address,
            source=SuppressionSource.UNSUBSCRIBE_LINK,
            at=now - timedelta(days=3),
            by=Actor.system("e2e"),
        )
    suppression_record(
        account=other,
        address="not.theirs@example.net",
        source=SuppressionSource.COMPLAINT,
        at=now - timedelta(days=1),
        by=Actor.system("e2e"),
    )

    log_in(page, "officer.lee", "pw-officer-e2e")
    page.goto(f"{live_server.url}/admin/compliance/suppressionexport/export/")
    page.fill("input[name=account]", "riverside-books")
    page.fill("textarea[name=purpose]", "Hand-over to the customer's new provider, ticket 4411")
    page.select_option("select[name=format]", "csv")
    with page.expect_download() as info:
        page.click("input[type=submit][value=Download]")
    download = info.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)

    assert download.suggested_filename.startswith("unsubscribes-riverside-books-csv-")
    lines = saved.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "email,suppressed_at_utc,source,reason"
    assert sorted(line.split(",")[0] for line in lines[1:]) == [
        "reader.one@example.com",
        "reader.two@example.org",
    ]
    export = SuppressionExport.objects.get()
    assert (export.account, export.rows, export.complete) == (account, 2, True)
    assert export.by_user.username == "officer.lee"

    # the export log lists it
    page.goto(f"{live_server.url}/admin/compliance/suppressionexport/")
    assert "riverside-books" in page.inner_text("#result_list")


def test_manager_imports_a_mailchimp_file_after_the_preview_and_sees_the_suppressions_R9(
    page, live_server, log_in, make_role_user
):
    staff(make_role_user, "Manager", "manager.ortiz", "pw-manager-e2e")
    account = AccountFactory(username="harbor-cafe")
    sample = SAMPLES / "unsubscribed_members_export_8f3a2c1d9e.csv"

    log_in(page, "manager.ortiz", "pw-manager-e2e")
    page.goto(f"{live_server.url}/admin/compliance/suppressionimport/import/")
    page.fill("input[name=account]", "harbor-cafe")
    page.set_input_files("input[name=import_file]", str(sample))
    page.click("input[type=submit][value=Preview]")

    # the preview: counted, nothing written yet
    summary = page.inner_text("#import-summary")
    assert "would add 4, already suppressed 0, lifted 0, rejected 0" in summary
    assert "1 repeated in the file" in summary
    assert "mailchimp" in page.inner_text("#content").lower()
    assert not Suppression.objects.filter(account=account).exists()

    page.click("input[type=submit][value='Confirm import']")
    page.wait_for_selector(".messagelist .success")
    assert "added 4" in page.inner_text(".messagelist")
    assert Suppression.objects.filter(account=account).count() == 4

    assert sorted(
        Suppression.objects.filter(account=account).values_list("normalised", flat=True)
    ) == [
        "anna.weber@example.de",
        "ben+news@example.com",
        "carla.diaz@example.com",
        "david@xn--bcher-kva.example",
    ]

    # the import log shows what it added
    page.goto(f"{live_server.url}/admin/compliance/suppressionimport/")
    row = page.inner_text("#result_list tbody tr")
    assert "harbor-cafe" in row and "added 4" in row

    # and the suppressions themselves, in the suppression list, by the account's username
    page.goto(f"{live_server.url}/admin/compliance/suppression/?q=harbor-cafe")
    assert page.locator("#result_list tbody tr").count() == 4
    assert "carla.diaz@example.com" in page.inner_text("#result_list")
