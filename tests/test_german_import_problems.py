"""CSV import problems in the reader's language (issue 13 item 1): the problems a file has are
kept with its import in no language (a worker may find them) and shown translated to whoever
reads them, German to a German staff member, English to an English one."""

from __future__ import annotations

import random

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import CancellationReason
from compliance.models import SuppressionImport
from exchanges.demo import seed
from exchanges.models import ImportRecord, ImportStatus
from tests.exchanges.conftest import streamed, upload
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

ACCOUNTS = "accounts_account"


def test_a_refused_unsubscribe_list_reads_german_to_a_german_reader(client, make_role_user):
    """The file is read in an English request; its refusal and its rows' problems are shown in
    German to the German reader and in English to the English one."""
    AccountFactory(username="harbor")
    client.force_login(make_role_user("Manager"))
    good = "".join(f"person{n}@example.com\n" for n in range(25))  # lines 3-27
    data = (
        "email\n"  # 1
        "not-an-address\n"  # 2
        + good
        + "x" * 200_000  # 28: one cell larger than CSV allows
        + "\n"
    ).encode()
    client.post(
        reverse("admin:compliance_suppressionimport_import"),
        {"account": "harbor", "import_file": SimpleUploadedFile("mixed.csv", data)},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    record = SuppressionImport.objects.get()
    assert record.status == "refused"
    page = reverse("admin:compliance_suppressionimport_progress", args=[record.pk])

    german = client.get(page, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    english = client.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Zeile 28 lässt sich nicht als CSV lesen" in german
    assert "außerdem wurden 1 Zeile(n) davor abgelehnt" in german
    assert "keine Adresse (kein @): &#x27;not-an-address&#x27;" in german
    assert "cannot be read as CSV" not in german and "no @" not in german
    assert "line 28 cannot be read as CSV" in english
    assert "1 row(s) before it were rejected" in english
    assert "not an address (no @): &#x27;not-an-address&#x27;" in english


def test_a_list_no_layout_matches_asks_for_the_mapping_in_german(client, make_role_user):
    AccountFactory(username="harbor")
    client.force_login(make_role_user("Manager"))
    client.post(
        reverse("admin:compliance_suppressionimport_import"),
        {
            "account": "harbor",
            "import_file": SimpleUploadedFile("altsystem.csv", b"Kontakt;Zustand\nx;AB\n"),
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    record = SuppressionImport.objects.get()
    assert record.status == "mapping"
    page = reverse("admin:compliance_suppressionimport_progress", args=[record.pk])

    german = client.get(page, HTTP_ACCEPT_LANGUAGE="de").content.decode()

    assert "keine Adressspalte: erwartet wird eine Spalte namens Email" in german
    assert "no address column" not in german


def test_a_refused_csv_import_reads_german_on_its_preview_change_page_and_download(
    client, make_role_user
):
    """A manager uploads in English; a German manager reads the file's problem, the rows'
    problems (each naming its field as staff read it) and the downloaded row errors in German."""
    AccountFactory(username="acme", company="Acme")
    client.force_login(make_role_user("Manager", "manager.mia"))
    content = (
        "username,company,time_zone,legal_hold\n"  # 1
        "acme,Acme B,UTC,yes\n"  # 2: would set a legal hold
        "nobody,Ghost,UTC,no\n"  # 3: no such account
        "acme,Again,UTC,no\n"  # 4: repeated
    )
    with translation.override("en"):
        upload(client, ACCOUNTS, content)
    record = ImportRecord.objects.get()
    assert record.status == ImportStatus.REFUSED
    preview = reverse("admin:accounts_account_import_preview", args=[record.pk])
    change = reverse("admin:exchanges_importrecord_change", args=[record.pk])
    download = reverse("admin:exchanges_importrecord_row_errors", args=[record.pk])

    german = client.get(preview, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    on_record = client.get(change, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    rows = streamed(client.get(download, HTTP_ACCEPT_LANGUAGE="de"))
    english = client.get(preview, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    for page in (german, on_record):
        assert "die Spalte „legal_hold“ kann nicht importiert werden" in page
        assert "rechtliche Aufbewahrungen setzt und hebt nur Compliance auf" in page
        assert "Zeile 4: username „acme“ wiederholt (zuerst in Zeile 2)" in page
        assert "cannot be imported" not in page and "repeated" not in page
    # the row of the preview names the field in German and the column the file has
    assert "Benutzername (Spalte username): kein(e) Konto mit username „nobody“" in german
    assert "Benutzername (Spalte username): kein(e) Konto mit username „nobody“" in rows
    assert "the column &#x27;legal_hold&#x27; cannot be imported" in english
    assert "username (column username): no account with username &#x27;nobody&#x27;" in english


def test_a_wrong_value_in_a_row_names_its_field_in_german(client, make_role_user):
    AccountFactory(username="acme", company="Acme")
    client.force_login(make_role_user("Manager", "manager.mia"))
    with translation.override("en"):
        upload(client, ACCOUNTS, "username,time_zone\nacme,Mars/Base\n")
    record = ImportRecord.objects.get()
    preview = reverse("admin:accounts_account_import_preview", args=[record.pk])

    german = client.get(preview, HTTP_ACCEPT_LANGUAGE="de").content.decode()

    assert (
        "Zeitzone (Spalte time_zone): &#x27;Mars/Base&#x27; ist keine bekannte Zeitzone" in german
    )


def test_the_demo_import_with_problems_reads_german(client, make_role_user):
    """The demo's refused import (exchanges.demo) shows German to a German manager."""
    AccountFactory.create_batch(6)
    seed(rng=random.Random(1), now=timezone.now(), count=20)
    record = ImportRecord.objects.get(file_name="status-cleanup.csv")
    client.force_login(make_role_user("Manager", "manager.mia"))
    change = reverse("admin:exchanges_importrecord_change", args=[record.pk])

    german = client.get(change, HTTP_ACCEPT_LANGUAGE="de").content.decode()

    assert "die Spalte „status“ kann nicht importiert werden (sie würde 2 Konto/Konten" in german
    assert "2 Zeile(n) haben Fehler" in german
    excel = ImportRecord.objects.get(file_name="export-from-excel.csv")
    assert (
        "die Datei ist nicht UTF-8 (Byte 0xe4"
        in client.get(
            reverse("admin:exchanges_importrecord_change", args=[excel.pk]),
            HTTP_ACCEPT_LANGUAGE="de",
        ).content.decode()
    )


def test_a_yes_no_cell_that_is_neither_names_its_field_in_german(client, make_role_user):
    client.force_login(make_role_user("Manager", "manager.mia"))
    with translation.override("en"):
        upload(client, "accounts_cancellationreason", "name,active\nToo expensive,maybe\n")
    record = ImportRecord.objects.get()
    assert record.status == ImportStatus.REFUSED
    preview = reverse("admin:accounts_cancellationreason_import_preview", args=[record.pk])

    german = client.get(preview, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    english = client.get(preview, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "(Spalte active): „maybe“ ist weder yes noch no" in german
    assert "(column active): &#x27;maybe&#x27; is not yes or no" in english


def test_a_catalogue_refusal_found_while_saving_a_row_is_kept_in_no_language(
    client, make_role_user
):
    """The billing service refuses the row as the import saves it (a currency we do not bill
    in): its refusal is stored as a Problem and read in German by a German manager, in English
    by an English one, though the file was read in English."""
    client.force_login(make_role_user("Manager", "manager.mia"))
    content = "code,name,monthly_price,currency,active\nstarter,Starter,12.00,XYZ,yes\n"
    with translation.override("en"):
        upload(client, "billing_plan", content)
    record = ImportRecord.objects.get()
    assert record.status == ImportStatus.REFUSED
    stored = record.row_errors[0]["error"]
    assert stored["msgid"] == "currency %(code)s is not one we bill in (%(known)s)"
    preview = reverse("admin:billing_plan_import_preview", args=[record.pk])
    download = reverse("admin:exchanges_importrecord_row_errors", args=[record.pk])

    german = client.get(preview, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    rows = streamed(client.get(download, HTTP_ACCEPT_LANGUAGE="de"))
    english = client.get(preview, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Währung &#x27;XYZ&#x27; wird von uns nicht abgerechnet" in german
    assert "Währung 'XYZ' wird von uns nicht abgerechnet" in rows
    assert "is not one we bill in" not in german and "is not one we bill in" not in rows
    assert "currency &#x27;XYZ&#x27; is not one we bill in" in english


def test_a_reasons_refusal_found_while_saving_a_row_is_kept_in_no_language(client, make_role_user):
    """The reasons service refuses the row as the import saves it (its name, spaces tidied,
    is a reason that exists): stored as a Problem, shown in the reader's language."""
    CancellationReason.objects.get_or_create(
        name="Too expensive", defaults={"created_at": timezone.now()}
    )
    client.force_login(make_role_user("Manager", "manager.mia"))
    with translation.override("de"):
        upload(client, "accounts_cancellationreason", "name,active\nToo  expensive,yes\n")
    record = ImportRecord.objects.get()
    assert record.status == ImportStatus.REFUSED
    preview = reverse("admin:accounts_cancellationreason_import_preview", args=[record.pk])

    german = client.get(preview, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    english = client.get(preview, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "ein Grund namens &#x27;Too expensive&#x27; existiert bereits" in german
    assert "a reason named &#x27;Too expensive&#x27; exists already" in english
    assert "existiert bereits" not in english
