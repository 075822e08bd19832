"""Every provider's unsubscribe lists, read as the provider lays them out: exactly the rows the
provider marks as not to be mailed are suppressed, with their dates and reasons, through the
command and through the admin's preview and confirm (SPEC "Imports only add", R9).

The fixtures under samples/providers are written for these tests, row by row, from each
provider's documented export columns; each case names the documentation it follows.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from compliance.models import Suppression, SuppressionImport
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

PROVIDERS = __import__("pathlib").Path(__file__).parent / "samples" / "providers"
U, B, C, M = "u", "b", "c", "m"


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    file: str
    layout: str
    docs: str
    # normalised address -> (date, reason) of every suppression the import must add
    suppressed: dict[str, tuple[datetime, str]]
    skipped: int = 0
    rejected: int = 0
    chosen: str = ""
    # words of the provider that must be kept as evidence, by address
    words: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.file


CASES = [
    Case(
        "unsubscribed_members_export_2b7c4e1f09.csv",
        "mailchimp_unsubscribed",
        "https://mailchimp.com/help/view-export-contacts/ (unsubscribed_members_export: "
        "UNSUB_TIME, UNSUB_CAMPAIGN_TITLE, UNSUB_REASON, UNSUB_REASON_OTHER)",
        {
            "ines.moreau@example.fr": (utc(2024, 3, 2, 8, 15), U),
            # UNSUB_REASON SPAM: the member reported the campaign as spam.
            "oskar@example.se": (utc(2024, 4, 18, 19, 2, 11), C),
            "petra.k@example.cz": (utc(2023, 11, 30, 23, 59, 59), U),
        },
        words={"petra.k@example.cz": "UNSUB_REASON_OTHER: I get too many emails"},
    ),
    Case(
        "cleaned_members_export_2b7c4e1f09.csv",
        "mailchimp_cleaned",
        "https://mailchimp.com/help/view-export-contacts/ (cleaned_members_export: CLEAN_TIME, "
        "CLEAN_CAMPAIGN_TITLE); cleaned = hard bounces",
        {
            "gone.away@example.com": (utc(2023, 7, 14, 3), B),
            "no.such.box@example.org": (utc(2024, 1, 20, 11, 30), B),
        },
        words={"gone.away@example.com": "CLEAN_CAMPAIGN_TITLE: Summer Sale"},
    ),
    Case(
        "contacts_export.csv",
        "constantcontact_contacts",
        "https://community.constantcontact.com/t5/Questions-Discussions/Help-understanding-"
        "quot-Email-Status-quot-in-exportedcontacts/m-p/410819 (Email Status: Unsubscribed, "
        "Active, Awaiting Confirmation, No Permissions Set)",
        {
            "quentin@example.com": (utc(2024, 3, 15, 16, 5), U),
            "sven@example.de": (utc(2023, 11, 2, 7, 45), U),
        },
        skipped=3,
        words={"sven@example.de": "Confirmed Opt-Out Reason: Too frequent"},
    ),
    Case(
        "unsubscribes_report.csv",
        "constantcontact_unsubscribes",
        "https://knowledgebase.constantcontact.com/articles/KnowledgeBase/5636 (unsubscribe "
        "date, source and reason)",
        {
            "vera@example.com": (utc(2024, 6, 1, 10), U),
            "wim@example.nl": (utc(2024, 6, 3, 15, 30), U),
        },
        words={"wim@example.nl": "Unsubscribe Reason: Requested by phone"},
    ),
    Case(
        "group_unsubscribes.csv",
        "sendgrid_group_unsubscribes",
        "https://www.twilio.com/docs/sendgrid/api-reference/suppressions-suppressions "
        "(email, group_id, group_name, created)",
        {
            "xena@example.com": (utc(2024, 3, 1), U),
            "yara@example.com": (utc(2024, 4, 1), U),
        },
        words={"yara@example.com": "group_name: Product updates"},
    ),
    Case(
        "bounces.csv",
        "sendgrid_bounces",
        "https://www.twilio.com/docs/sendgrid/api-reference/bounces-api (created, email, "
        "reason, status)",
        {
            "zack@example.com": (utc(2024, 4, 24, 23, 6, 40), B),
            "amir@example.net": (utc(2024, 4, 30, 18), B),
        },
        words={"zack@example.com": "status: 5.1.1; reason: 550 5.1.1 The email account"},
    ),
    Case(
        "blocks.csv",
        "sendgrid_blocks",
        "https://www.twilio.com/docs/sendgrid/glossary/blocks (SendGrid does not treat the "
        "blocks list as a suppression list)",
        {},
        skipped=2,
    ),
    Case(
        "spam_reports.csv",
        "sendgrid_spam_reports",
        "https://www.twilio.com/docs/sendgrid/api-reference/spam-reports-api (created, email, ip)",
        {
            "dora@example.com": (utc(2024, 5, 18, 2, 40), C),
            "emil@example.net": (utc(2024, 5, 19, 2, 40), C),
        },
    ),
    Case(
        "invalid_emails.csv",
        "sendgrid_invalid_emails",
        "https://www.twilio.com/docs/sendgrid/api-reference/invalid-e-mails-api (created, "
        "email, reason)",
        {"gus@example.com": (utc(2024, 5, 30, 20, 13, 20), B)},
        rejected=1,
    ),
    Case(
        "list-suppressed-destinations.json",
        "ses_json",
        "https://docs.aws.amazon.com/cli/latest/reference/sesv2/list-suppressed-destinations"
        ".html (SuppressedDestinationSummaries: EmailAddress, Reason, LastUpdateTime)",
        {
            "hana@example.com": (datetime.fromtimestamp(1586552585.077, tz=UTC), C),
            "igor@example.net": (utc(2023, 9, 1, 10, 30, 45, 123000), B),
        },
        rejected=1,
        words={"hana@example.com": "Reason: COMPLAINT"},
    ),
    Case(
        "ses-suppression-bulk.csv",
        "ses_csv",
        "https://docs.aws.amazon.com/ses/latest/dg/sending-email-suppression-list.html "
        "(bulk add: recipient@example.com,BOUNCE per line)",
        # No date in this format: dated at the import (the test's now).
        {"jana@example.com": (None, B), "kemal@example.org": (None, C)},
    ),
    Case(
        "mailgun-unsubscribes.csv",
        "mailgun_unsubscribes",
        "https://documentation.mailgun.com/docs/mailgun/api-reference/send/mailgun/"
        "unsubscribe (import: address, tags, created_at in RFC 2822)",
        {
            "lena@example.com": (utc(2024, 5, 6, 18, 11, 58), U),
            "milo@example.com": (utc(2024, 5, 7, 9), U),
        },
        words={"milo@example.com": "tags: newsletter"},
    ),
    Case(
        "mailgun-bounces.csv",
        "mailgun_bounces",
        "https://documentation.mailgun.com/docs/mailgun/api-reference/send/mailgun/bounces "
        "(import: address, code, error, created_at in RFC 2822)",
        {
            "nina@example.com": (utc(2024, 5, 8, 10, 20, 30), B),
            "omar@example.org": (utc(2024, 5, 9, 9, 21, 31), B),
        },
        words={"nina@example.com": "code: 550; error: 5.1.1 The email account"},
    ),
    Case(
        "mailgun-complaints.csv",
        "mailgun_complaints",
        "https://documentation.mailgun.com/docs/mailgun/api-reference/send/mailgun/complaints "
        "(import: address, created_at)",
        {"pia@example.com": (utc(2024, 5, 10, 12), C)},
    ),
    Case(
        "subscribers.csv",
        "listmonk_blocklisted",
        "https://github.com/knadh/listmonk/blob/master/cmd/subscribers.go "
        "(handleExportSubscribers: uuid, email, name, attributes, status, created_at, "
        "updated_at written with Go's Time.String())",
        {
            "rosa.b@example.com": (utc(2024, 2, 29, 17, 45, 12, 1), U),
            "tess@example.com": (utc(2024, 1, 3, 14, 4, 5, 123456), U),
        },
        skipped=2,
    ),
    Case(
        "subscribers.csv",
        "listmonk_list_unsubscribed",
        "https://github.com/knadh/listmonk/blob/master/cmd/subscribers.go (the same export "
        "with subscription_status=unsubscribed: every row left the list)",
        {
            "rosa.b@example.com": (utc(2024, 2, 29, 17, 45, 12, 1), U),
            "sam@example.com": (utc(2024, 1, 3, 15, 4, 5, 123456), U),
            "tess@example.com": (utc(2024, 1, 3, 14, 4, 5, 123456), U),
            "uma@example.com": (utc(2023, 5, 1, 10), U),
        },
        chosen="listmonk_list_unsubscribed",
    ),
    Case(
        "hubspot-crm-exports-all-contacts-2024-06-01.csv",
        "hubspot_contacts",
        "https://knowledge.hubspot.com/properties/hubspots-default-contact-properties "
        "(Unsubscribed from all email: true/false)",
        {"vic@example.com": (None, U), "yuki@example.com": (None, U)},
        skipped=2,
    ),
    Case(
        "brevo-contacts.csv",
        "brevo_contacts",
        "https://developers.brevo.com/reference/getcontacts-1 (email, emailBlacklisted)",
        {"zoe@example.com": (None, U)},
        skipped=1,
    ),
    Case(
        "brevo-blocked-contacts.csv",
        "brevo_blocked",
        "https://developers.brevo.com/reference/gettransacblockedcontacts (email, "
        "senderEmail, reason code: hardBounce, contactFlaggedAsSpam, unsubscribedViaEmail, "
        "adminBlocked, blockedAt)",
        {
            "beth@example.com": (utc(2024, 5, 2, 8), B),
            "carl@example.com": (utc(2024, 5, 3, 8), C),
            "dana@example.com": (utc(2024, 5, 4, 8), U),
            "eli@example.com": (utc(2024, 5, 5, 8), M),
        },
    ),
    Case(
        "klaviyo-suppressed-profiles.csv",
        "klaviyo_suppressed",
        "https://developers.klaviyo.com/en/reference/get_profiles (email marketing "
        "suppression: reason HARD_BOUNCE, SPAM_COMPLAINT, USER_SUPPRESSED, UNSUBSCRIBE, "
        "timestamp)",
        {
            "finn@example.com": (utc(2023, 2, 21, 20, 7, 38), B),
            "gina@example.com": (utc(2023, 3, 21, 20, 7, 38), C),
            "hugo@example.com": (utc(2023, 4, 21, 20, 7, 38), M),
            "iris@example.com": (utc(2023, 5, 21, 20, 7, 38), U),
        },
    ),
    Case(
        "klaviyo-list-export.csv",
        "klaviyo_profiles",
        "https://help.klaviyo.com/hc/en-us/articles/115005246108 (unsubscribed and spam "
        "profiles have the consent status UNSUBSCRIBED)",
        {"jack@example.com": (utc(2024, 2, 10, 8), U)},
        skipped=2,
    ),
    Case(
        "campaign-monitor-suppression-list.csv",
        "campaignmonitor_suppression",
        "https://www.campaignmonitor.com/api/v3-3/clients/#suppression-list "
        "(SuppressionReason, EmailAddress, Date, State)",
        {
            "maya@example.com": (utc(2010, 10, 26, 10, 55, 31), U),
            "noel@example.com": (utc(2011, 3, 2, 9), B),
        },
    ),
    Case(
        "campaign-monitor-subscribers.csv",
        "campaignmonitor_subscribers",
        "https://www.campaignmonitor.com/api/v3-3/lists/ (subscribers: EmailAddress, Name, "
        "Date, State Active, Unsubscribed, Bounced, Deleted)",
        {
            "olga.m@example.com": (utc(2024, 1, 15, 14, 30), U),
            "quin.m@example.com": (utc(2024, 1, 17, 14, 30), B),
        },
        skipped=2,
    ),
    Case(
        "activecampaign-contacts.csv",
        "activecampaign_contacts",
        "https://help.activecampaign.com/hc/en-us/articles/221073788-Contact-list-statuses-"
        "explained (Active, Unconfirmed, Unsubscribed, Bounced)",
        {
            "sara.a@example.com": (utc(2024, 4, 1, 12), U),
            "ulla.a@example.com": (utc(2024, 4, 3, 12), B),
        },
        skipped=2,
    ),
    Case(
        "mautic-do-not-contact.csv",
        "mautic_dnc",
        "https://github.com/mautic/mautic/blob/5.x/app/bundles/LeadBundle/EventListener/"
        "ReportDNCSubscriber.php (report columns reason, comments, date added, channel; "
        "reasons Contactable, Unsubscribed, Bounced, Manual)",
        {
            "walt@example.com": (utc(2024, 2, 1, 8), U),
            "xena.m@example.com": (utc(2024, 2, 2, 8), B),
            "yves@example.com": (utc(2024, 2, 3, 8), M),
        },
        # Do-not-contact for SMS says nothing about email.
        skipped=1,
        words={"yves@example.com": "Comments: Asked by phone"},
    ),
]


def suppressed_set(account, now) -> dict[str, tuple[datetime, str]]:
    return {
        s.normalised: (s.at, s.reason)
        for s in Suppression.objects.filter(account=account, source="import")
    }


def expected(case: Case, now: datetime) -> dict[str, tuple[datetime, str]]:
    return {k: (at or now, reason) for k, (at, reason) in case.suppressed.items()}


def assert_words(case: Case, account) -> None:
    for address, words in case.words.items():
        evidence = Suppression.objects.get(account=account, normalised=address).evidence
        assert words in evidence, (address, evidence)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_each_provider_layout_imports_exactly_its_suppressed_rows_with_dates_and_reasons_by_command(
    case, time_machine
):
    now = utc(2024, 6, 15, 12)
    time_machine.move_to(now, tick=False)
    account = AccountFactory(username="fjord-books")
    out, err = io.StringIO(), io.StringIO()
    args = ["import_suppressions", "--account", "fjord-books", str(PROVIDERS / case.file)]
    if case.chosen:
        args += ["--layout", case.chosen]

    call_command(*args, stdout=out, stderr=err)

    assert f"({case.layout})" in out.getvalue()
    assert suppressed_set(account, now) == expected(case, now)
    record = SuppressionImport.objects.get(account=account)
    assert record.layout == case.layout
    assert (record.counts["skipped"], record.counts["rejected"]) == (case.skipped, case.rejected)
    assert_words(case, account)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_each_provider_layout_imports_exactly_its_suppressed_rows_through_admin_preview_and_confirm(
    case, client, make_role_user, time_machine
):
    now = utc(2024, 6, 15, 12)
    time_machine.move_to(now, tick=False)
    account = AccountFactory(username="harbor-tea")
    client.force_login(make_role_user("Manager"))
    upload = client.post(
        reverse("admin:compliance_suppressionimport_import"),
        {
            "account": "harbor-tea",
            "layout": case.chosen,
            "import_file": SimpleUploadedFile(case.file, (PROVIDERS / case.file).read_bytes()),
        },
    )
    record = SuppressionImport.objects.get(account=account)
    preview = client.get(upload["Location"]).content.decode()

    assert record.status == "previewed", record.error
    assert record.layout == case.layout
    assert "Recognised as" in preview and "because of" in preview
    assert f"would add {len(case.suppressed)}, already suppressed 0" in preview
    assert not Suppression.objects.filter(account=account).exists()

    client.post(reverse("admin:compliance_suppressionimport_process_import"), {"record": record.pk})

    record.refresh_from_db()
    assert record.status == "done"
    assert suppressed_set(account, now) == expected(case, now)
    assert (record.counts["skipped"], record.counts["rejected"]) == (case.skipped, case.rejected)
    assert_words(case, account)
