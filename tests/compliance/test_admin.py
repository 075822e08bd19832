"""The compliance admin pages: read-only records, opt-ins with evidence, exports, imports with
preview and background progress, retention with legal holds."""

from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountStatus
from approvals.models import ApprovalRequest
from compliance import tasks
from compliance.models import (
    OptIn,
    Suppression,
    SuppressionExport,
    SuppressionImport,
    SuppressionMapping,
)
from compliance.selectors import is_suppressed
from compliance.services import suppression_record
from compliance.services.import_runs import suppression_import_error, suppression_import_lines
from core.actors import Actor
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

LINK = Actor.system("unsubscribe_link")


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")


def logged_in(client, user):
    client.force_login(user)
    return client


def test_superuser_cannot_delete_or_edit_a_suppression_in_the_admin_R9_R12(client, superuser):
    account = AccountFactory()
    s = suppression_record(
        account=account, address="keep@example.com", source="staff", at=timezone.now(), by=LINK
    )
    c = logged_in(client, superuser)

    delete = c.post(reverse("admin:compliance_suppression_delete", args=[s.pk]), {"post": "yes"})
    action = c.post(
        reverse("admin:compliance_suppression_changelist"),
        {"action": "delete_selected", ACTION_CHECKBOX_NAME: [s.pk], "post": "yes"},
    )
    change = c.post(
        reverse("admin:compliance_suppression_change", args=[s.pk]), {"normalised": "x@example.com"}
    )

    assert delete.status_code == 403
    assert action.status_code in (200, 302)
    assert change.status_code == 403
    assert Suppression.objects.get(pk=s.pk).normalised == "keep@example.com"


def test_compliance_officer_finds_a_suppression_by_the_address_as_typed(client, make_role_user):
    account = AccountFactory()
    suppression_record(
        account=account,
        address="Anna.Weber@Example.com",
        source="staff",
        at=timezone.now(),
        by=LINK,
    )
    c = logged_in(client, make_role_user("Compliance"))

    page = c.get(
        reverse("admin:compliance_suppression_changelist"), {"q": " ANNA.weber@example.COM"}
    )

    assert page.status_code == 200
    assert b"anna.weber@example.com" in page.content


def test_optin_is_asked_for_with_evidence_and_recorded_only_on_a_second_officers_sign_off_R9(
    client, make_role_user
):
    account = AccountFactory(username="maple")
    suppression_record(
        account=account,
        address="mia@example.com",
        source="unsubscribe_link",
        at=timezone.now() - timedelta(days=5),
        by=LINK,
    )
    c = logged_in(client, make_role_user("Compliance"))
    url = reverse("admin:compliance_optin_add")
    at = timezone.now() - timedelta(days=1)
    form = {
        "account_username": "maple",
        "address": "mia@example.com",
        "at_0": at.strftime("%Y-%m-%d"),
        "at_1": at.strftime("%H:%M:%S"),
        "method": "written_consent",
        "origin": "",
        "evidence": "",
        "reason": "ticket 77",
    }

    refused = c.post(url, form)
    assert refused.status_code == 200 and not ApprovalRequest.objects.exists()

    asked = c.post(url, {**form, "origin": "signed form at trade fair", "evidence": "scan 77"})

    # asked for, not recorded: the address stays suppressed until a second officer signs off
    signoff = ApprovalRequest.objects.get()
    assert asked.status_code == 302
    assert asked["Location"] == reverse("admin:approvals_approvalrequest_change", args=[signoff.pk])
    assert not OptIn.objects.exists()
    assert is_suppressed(account, "mia@example.com", at=timezone.now())

    second = logged_in(Client(), make_role_user("Compliance", "second.officer"))
    done = second.post(
        reverse("admin:approvals_approvalrequest_changelist"),
        {"action": "approve_requests", ACTION_CHECKBOX_NAME: [signoff.pk], "apply": "1"},
    )

    assert done.status_code == 302
    optin = OptIn.objects.get()
    assert optin.by_user.username == "second.officer"
    assert optin.evidence.startswith("scan 77")
    assert not is_suppressed(account, "mia@example.com", at=timezone.now())


def test_export_page_streams_the_list_and_records_it_R10(client, make_role_user):
    account = AccountFactory(username="fjord", status=AccountStatus.PURGED)
    suppression_record(
        account=account, address="=sum@example.com", source="complaint", at=timezone.now(), by=LINK
    )
    c = logged_in(client, make_role_user("Compliance"))

    response = c.post(
        reverse("admin:compliance_suppressionexport_export"),
        {
            "account": "fjord",
            "purpose": "Hand-over to the new provider, ticket 4411",
            "format": "csv",
        },
    )

    assert response.status_code == 200 and response.streaming
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines() == ["email,suppressed_at_utc,source,reason", body.splitlines()[1]]
    assert body.splitlines()[1].startswith("'=sum@example.com,")
    record = SuppressionExport.objects.get()
    assert (record.by_user.username, record.rows, record.account) == ("compliance", 1, account)


def test_export_page_is_refused_to_a_manager_R10(client, make_role_user):
    AccountFactory(username="fjord")
    c = logged_in(client, make_role_user("Manager"))

    response = c.post(
        reverse("admin:compliance_suppressionexport_export"),
        {"account": "fjord", "purpose": "marketing", "format": "csv"},
    )

    assert response.status_code == 403
    assert not SuppressionExport.objects.exists()


def test_manager_imports_a_small_file_with_preview_then_confirm(client, make_role_user, samples):
    account = AccountFactory(username="harbor")
    c = logged_in(client, make_role_user("Manager"))
    data = (samples / "sendgrid_suppression_unsubscribes.csv").read_bytes()

    upload = c.post(
        reverse("admin:compliance_suppressionimport_import"),
        {"account": "harbor", "import_file": SimpleUploadedFile("unsubscribes.csv", data)},
    )
    record = SuppressionImport.objects.get()
    preview = c.get(upload["Location"])

    assert record.status == "previewed"
    assert b"would add 4, already suppressed 0, lifted 0, rejected 0" in preview.content
    assert not Suppression.objects.filter(account=account).exists()

    confirm = c.post(
        reverse("admin:compliance_suppressionimport_process_import"), {"record": record.pk}
    )

    assert confirm.status_code == 302
    assert Suppression.objects.filter(account=account).count() == 4
    record.refresh_from_db()
    assert record.status == "done" and record.counts["added"] == 4


def test_a_large_file_goes_to_a_celery_task_that_reports_progress(
    client, make_role_user, settings, django_capture_on_commit_callbacks
):
    settings.COMPLIANCE_IMPORT_INLINE_MAX_BYTES = 1_000
    account = AccountFactory(username="summit")
    rows = "".join(f"person{i}@example.com\n" for i in range(30_000)) + "broken\n"
    c = logged_in(client, make_role_user("Compliance"))

    # when the upload is sent: stored and queued, not read in the request
    with django_capture_on_commit_callbacks() as queued:
        upload = c.post(
            reverse("admin:compliance_suppressionimport_import"),
            {
                "account": "summit",
                "import_file": SimpleUploadedFile("list.csv", ("email\n" + rows).encode()),
            },
        )
    record = SuppressionImport.objects.get()
    assert (record.status, record.in_background, len(queued)) == ("uploaded", True, 1)
    assert b"refresh" in c.get(upload["Location"]).content

    # the worker previews (what the queued callback sends to Celery)
    tasks.import_preview(record.pk)
    record.refresh_from_db()
    assert record.status == "previewed" and record.rows_done == 30_001
    assert record.bytes_done == record.size_bytes
    page = c.get(upload["Location"]).content
    assert b"would add 30000, already suppressed 0, lifted 0, rejected 1" in page
    assert b"Confirm import" in page

    with django_capture_on_commit_callbacks() as queued:
        c.post(reverse("admin:compliance_suppressionimport_process_import"), {"record": record.pk})
    assert len(queued) == 1 and not Suppression.objects.filter(account=account).exists()
    tasks.import_apply(record.pk)

    assert Suppression.objects.filter(account=account).count() == 30_000
    assert b"added 30000" in c.get(upload["Location"]).content


def test_an_oversized_upload_is_refused_pointing_to_the_command(client, make_role_user, settings):
    settings.ADMIN_UPLOAD_MAX_BYTES = 1024
    AccountFactory(username="big")
    c = logged_in(client, make_role_user("Manager"))

    response = c.post(
        reverse("admin:compliance_suppressionimport_import"),
        {"account": "big", "import_file": SimpleUploadedFile("huge.csv", b"a@example.com\n" * 500)},
    )

    assert response.status_code == 200
    assert b"manage.py import_suppressions" in response.content
    assert not SuppressionImport.objects.exists() and not Suppression.objects.exists()


@pytest.mark.parametrize(
    ("username", "data", "message"),
    [
        ("nobody", b"a@example.com\n", b"no account with username"),
        ("known", b"", b"The submitted file is empty"),
        ("known", b"\x00\x01\x02\x03", b"not a text file"),
        ("known", b"name\nAnna\n", b"no address column"),
    ],
)
def test_bad_uploads_get_a_clear_message_and_nothing_is_written(
    client, make_role_user, username, data, message
):
    AccountFactory(username="known")
    c = logged_in(client, make_role_user("Manager"))

    upload = c.post(
        reverse("admin:compliance_suppressionimport_import"),
        {"account": username, "import_file": SimpleUploadedFile("x.csv", data)},
        follow=True,
    )

    assert message in upload.content
    assert not Suppression.objects.exists()


def test_support_staff_cannot_import(client, make_role_user):
    c = logged_in(client, make_role_user("Support"))

    assert c.get(reverse("admin:compliance_suppressionimport_import")).status_code == 403


def test_retention_filter_and_legal_hold_action_R7(client, make_role_user):
    now = timezone.now()
    soon = AccountFactory(
        username="soon", status=AccountStatus.CANCELLED, inactive_since=now - timedelta(days=117)
    )
    AccountFactory(
        username="later", status=AccountStatus.CANCELLED, inactive_since=now - timedelta(days=60)
    )
    c = logged_in(client, make_role_user("Compliance"))
    url = reverse("admin:compliance_retentionaccount_changelist")

    listed = c.get(url, {"purge": "7d"}).content
    assert b"soon" in listed and b"later" not in listed

    ask = c.post(url, {"action": "set_legal_hold", ACTION_CHECKBOX_NAME: [soon.pk]})
    assert b"Matter or case" in ask.content
    c.post(
        url,
        {
            "action": "set_legal_hold",
            ACTION_CHECKBOX_NAME: [soon.pk],
            "apply": "1",
            "reason": "Case 7",
        },
    )

    soon.refresh_from_db()
    assert soon.legal_hold and soon.legal_hold_reason == "Case 7"
    assert b"soon" not in c.get(url, {"purge": "7d"}).content


def test_held_filter_counts_retention_on_the_accounts_own_calendar_R7(client, make_role_user):
    """'Past retention, under legal hold': the same local purge day as the purge job, so a
    hold that is all that keeps an account is listed, and one not yet past its day is not."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from compliance import conf

    auckland = ZoneInfo("Pacific/Auckland")
    today = timezone.now().astimezone(auckland).date()
    days = conf.retention_days()
    # inactive since the start of the local day `days` days ago: its purge day begins tomorrow;
    # an hour earlier (the local day before): its purge day is today
    start = datetime.combine(today - timedelta(days=days), datetime.min.time(), tzinfo=auckland)
    for name, since in (("held-past", start - timedelta(hours=1)), ("held-today", start)):
        AccountFactory(
            username=name,
            time_zone="Pacific/Auckland",
            status=AccountStatus.CANCELLED,
            inactive_since=since,
            legal_hold=True,
            legal_hold_reason="Case 9",
        )
    c = logged_in(client, make_role_user("Compliance"))
    url = reverse("admin:compliance_retentionaccount_changelist")

    listed = c.get(url, {"purge": "held"}).content

    assert b"held-past" in listed and b"held-today" not in listed


def test_a_file_no_layout_matches_is_mapped_in_the_preview_saved_and_reused(client, make_role_user):
    AccountFactory(username="orchard")
    c = logged_in(client, make_role_user("Manager"))
    data = (
        b"Kontakt;Zustand;Abgemeldet am\n"
        b"eins@example.de;abgemeldet;2024-03-01 10:00:00\n"
        b"zwei@example.de;aktiv;\n"
    )

    # when the upload matches no layout: the preview asks which column holds what
    upload = c.post(
        reverse("admin:compliance_suppressionimport_import"),
        {"account": "orchard", "import_file": SimpleUploadedFile("altsystem.csv", data)},
    )
    record = SuppressionImport.objects.get()
    page = c.get(upload["Location"]).content.decode()
    assert record.status == "mapping"
    assert "Map the columns" in page and "Zustand (abgemeldet, aktiv)" in page

    # the staff map the columns and save the mapping: the file is read again for a preview
    mapped = c.post(
        reverse("admin:compliance_suppressionimport_mapping", args=[record.pk]),
        {
            "record": record.pk,
            "address_column": "Kontakt",
            "status_column": "Zustand",
            "suppressed_values": "Abgemeldet",
            "date_column": "Abgemeldet am",
            "reason": "u",
            "save_as": "Altsystem",
        },
    )
    record.refresh_from_db()
    preview = c.get(mapped["Location"]).content.decode()
    assert record.status == "previewed" and record.layout == "mapping"
    assert "saved column mapping “Altsystem”" in preview
    assert "would add 1, already suppressed 0, lifted 0, rejected 0" in preview
    assert not Suppression.objects.exists()

    c.post(reverse("admin:compliance_suppressionimport_process_import"), {"record": record.pk})
    assert list(Suppression.objects.values_list("normalised", "reason")) == [
        ("eins@example.de", "u")
    ]

    # the saved mapping is offered at the next upload and reads the next file directly
    saved = SuppressionMapping.objects.get(name="Altsystem")
    form = c.get(reverse("admin:compliance_suppressionimport_import")).content.decode()
    assert f'value="mapping:{saved.pk}"' in form
    c.post(
        reverse("admin:compliance_suppressionimport_import"),
        {
            "account": "orchard",
            "layout": f"mapping:{saved.pk}",
            "import_file": SimpleUploadedFile(
                "altsystem-2.csv", b"Kontakt;Zustand;Abgemeldet am\ndrei@example.de;ABGEMELDET;\n"
            ),
        },
    )
    second = SuppressionImport.objects.latest("pk")
    assert (second.status, second.counts["added"], second.counts["undated"]) == ("previewed", 1, 1)
    assert suppression_import_lines(second.notices) == [(2, "no date: suppressed as of the import")]


def test_a_mapping_that_names_values_but_no_status_column_is_shown_again_with_the_error(
    client, make_role_user
):
    AccountFactory(username="orchard")
    c = logged_in(client, make_role_user("Manager"))
    c.post(
        reverse("admin:compliance_suppressionimport_import"),
        {
            "account": "orchard",
            "import_file": SimpleUploadedFile("x.csv", b"Kontakt;Zustand\neins@example.de;weg\n"),
        },
    )
    record = SuppressionImport.objects.get()

    response = c.post(
        reverse("admin:compliance_suppressionimport_mapping", args=[record.pk]),
        {
            "record": record.pk,
            "address_column": "Kontakt",
            "status_column": "Zustand",
            "reason": "u",
        },
    )

    assert response.status_code == 200
    assert b"say which values of the status column" in response.content
    record.refresh_from_db()
    assert record.status == "mapping" and not Suppression.objects.exists()


def test_compliance_filters_suppressions_by_reason(client, make_role_user):
    account = AccountFactory()
    for address, source in [("a@example.com", "bounce"), ("b@example.com", "unsubscribe_link")]:
        suppression_record(
            account=account, address=address, source=source, at=timezone.now(), by=LINK
        )
    c = logged_in(client, make_role_user("Compliance"))

    page = c.get(reverse("admin:compliance_suppression_changelist"), {"reason__exact": "b"})

    assert page.status_code == 200
    assert b"a@example.com" in page.content and b"b@example.com" not in page.content
    assert b"Hard bounce" in page.content


def test_the_import_preview_speaks_german(client, make_role_user):
    AccountFactory(username="kiel")
    c = logged_in(client, make_role_user("Manager"))
    upload = c.post(
        reverse("admin:compliance_suppressionimport_import"),
        {
            "account": "kiel",
            "import_file": SimpleUploadedFile(
                "bounces.csv", b"email,created,reason,status\nx@example.com,1714000000,550,5.1.1\n"
            ),
        },
    )

    page = c.get(upload["Location"], HTTP_ACCEPT_LANGUAGE="de").content.decode()

    assert "Erkannt als" in page and "SendGrid-Bounces" in page
    assert "würde 1 hinzufügen" in page
    assert "Harter Bounce" in page


def test_a_column_mapping_can_be_typed_in_the_admin_and_is_never_edited(client, make_role_user):
    c = logged_in(client, make_role_user("Compliance"))

    added = c.post(
        reverse("admin:compliance_suppressionmapping_add"),
        {
            "name": "Zoho Campaigns",
            "address_column": "Contact Email",
            "status_column": "Status",
            "suppressed_values_text": "Unsubscribed, Hardbounce",
            "date_column": "Last Updated",
            "reason": "u",
        },
    )
    refused = c.post(
        reverse("admin:compliance_suppressionmapping_add"),
        {"name": "Broken", "address_column": "Email", "status_column": "Status", "reason": "u"},
    )

    assert added.status_code == 302
    saved = SuppressionMapping.objects.get(name="Zoho Campaigns")
    assert saved.suppressed_values == ["Unsubscribed", "Hardbounce"]
    assert b"say which values of the status column" in refused.content
    change = c.post(
        reverse("admin:compliance_suppressionmapping_change", args=[saved.pk]),
        {"name": "Renamed", "address_column": "x", "reason": "u"},
    )
    assert change.status_code in (200, 403)
    assert SuppressionMapping.objects.get(pk=saved.pk).name == "Zoho Campaigns"


def test_a_list_refused_part_way_reports_the_rows_rejected_before_it_by_line(
    client, make_role_user
):
    """Issue 13 item 7: a line that cannot be read refuses the file, and the bad rows before it
    are listed with it, each by its line in the file (header 1, blank lines counted)."""
    AccountFactory(username="harbor")
    c = logged_in(client, make_role_user("Manager"))
    good = "".join(f"person{n}@example.com\n" for n in range(30))  # lines 5-34
    data = (
        "email\n"  # 1
        "not-an-address\n"  # 2
        "\n"  # 3
        "anna@\n"  # 4
        + good
        + "x" * 200_000  # 35: one cell larger than CSV allows
        + "\nlast@example.com\n"
    ).encode()

    upload = c.post(
        reverse("admin:compliance_suppressionimport_import"),
        {"account": "harbor", "import_file": SimpleUploadedFile("mixed.csv", data)},
    )

    record = SuppressionImport.objects.get()
    assert record.status == "refused"
    assert "line 35 cannot be read as CSV" in suppression_import_error(record)
    assert "2 row(s) before it were rejected" in suppression_import_error(record)
    assert [line for line, _ in record.problems] == [2, 4]
    text = c.get(upload["Location"]).content.decode()
    assert "line 35 cannot be read as CSV" in text
    assert "Rows not imported" in text and "<td>2</td>" in text and "<td>4</td>" in text
    assert not Suppression.objects.exists()
