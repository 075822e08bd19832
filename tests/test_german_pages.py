"""The main admin pages in German show no English label: headings, column titles, filter
titles, buttons and form labels are each rendered in both languages, and any label that
reads the same in both must be one of the few words German shares with English."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_noop

from accounts.models import AccountStatus
from core.actors import Actor
from core.problems import Problem
from exchanges.models import ImportStatus
from exchanges.services import import_record_open
from tests.billing.factories import BillingProfileFactory
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

# Words and names that are the same in German: product names, codes, units, proper nouns.
SAME_IN_BOTH = {
    "Status",
    "Name",
    "Code",
    "Token",
    "Format",
    "Job",
    "Worker",
    "Modus",
    "Admin",
    "Backoffice",
    "Compliance",
    "Support",
    "Billing",
    "Manager",
    "CSV",
    "UTC",
    "ID",
    "Deutsch",
    "English",
    "Integration",
    "Firma",
    "Filter",
    "Online",
}
# Apps of libraries only a superuser sees (login throttling, beat's schedules, authenticator
# devices); their names come from the libraries.
THIRD_PARTY = {"Axes", "Crontabs", "Otp_Totp", "TOTP devices"}
LABEL_TAGS = {"h1", "h2", "h3", "th", "label", "button", "summary", "caption"}


class Labels(HTMLParser):
    """The texts of headings, column titles, filter titles, buttons and form labels."""

    def __init__(self) -> None:
        super().__init__()
        self.labels: set[str] = set()
        self._open: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "input" and attributes.get("type") in ("submit", "button"):
            self._add(attributes.get("value") or "")
        if tag in LABEL_TAGS:
            self._open.append((tag, []))

    def handle_endtag(self, tag):
        if self._open and self._open[-1][0] == tag:
            _tag, parts = self._open.pop()
            self._add(" ".join(parts))

    def handle_data(self, data):
        for _tag, parts in self._open:
            parts.append(data)

    def _add(self, text: str) -> None:
        text = re.sub(r"\s+", " ", text).strip(" :*")
        if re.search(r"[A-Za-z]{3}", text):
            self.labels.add(text)


def labels(client, url: str, language: str) -> set[str]:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, url
    parser = Labels()
    parser.feed(response.content.decode())
    return parser.labels


@pytest.fixture
def main_pages():
    account = AccountFactory(status=AccountStatus.ACTIVE, username="anna-bergmann")
    profile = BillingProfileFactory(account=account, next_billing_date=date(2030, 12, 1))
    # A CSV import refused with a problem kept in no language (core.problems).
    refused = import_record_open(
        by=Actor.staff(User.objects.create_user("manager.mia")),
        now=timezone.now(),
        model="accounts.account",
        resource="AccountResource",
        file_name="changes.csv",
        file_size=10,
        status=ImportStatus.REFUSED,
        message=Problem(gettext_noop("the file has a header but no rows")),
    )
    return [
        "/admin/",
        reverse("admin:accounts_account_changelist"),
        reverse("admin:accounts_account_change", args=[account.pk]),
        reverse("admin:accounts_account_cancellation_call", args=[account.pk]),
        reverse("admin:accounts_cancellationrequest_changelist"),
        reverse("admin:accounts_accountevent_changelist"),
        reverse("admin:billing_billingprofile_changelist"),
        reverse("admin:billing_billingprofile_change", args=[profile.pk]),
        reverse("admin:billing_ledgerentry_changelist"),
        reverse("admin:compliance_suppression_changelist"),
        reverse("admin:compliance_retentionaccount_changelist"),
        reverse("admin:jobs_jobrun_changelist"),
        reverse("admin:exchanges_importrecord_changelist"),
        reverse("admin:exchanges_importrecord_change", args=[refused.pk]),
    ]


def test_the_main_pages_in_german_show_no_english_label(admin_client, main_pages):
    english_left = {}
    for url in main_pages:
        german = labels(admin_client, url, "de")
        english = labels(admin_client, url, "en")
        same = {
            label
            for label in german & english
            if not set(re.findall(r"[A-Za-z][A-Za-z-]+", label)) <= SAME_IN_BOTH
            and "anna-bergmann" not in label
            and "changes.csv" not in label
            and label not in THIRD_PARTY
        }
        if same:
            english_left[url] = sorted(same)

    assert english_left == {}, "\n".join(f"{u}: {v}" for u, v in english_left.items())


def test_a_refused_imports_problem_reads_german_on_its_page(admin_client, main_pages):
    """The import's problem is kept in no language and shown in the reader's (issue 13)."""
    page = main_pages[-1]

    german = admin_client.get(page, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    english = admin_client.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "die Datei hat eine Kopfzeile, aber keine Zeilen" in german
    assert "the file has a header but no rows" in english


def test_the_check_finds_an_english_label():
    """The label reader itself: an untranslated button and column title are found."""
    parser = Labels()
    parser.feed('<th><a href="?o=1">Next billing date</a></th><input type="submit" value="Go">')

    assert parser.labels == {"Next billing date"}  # "Go" is too short to judge


def test_a_refused_desk_call_reads_all_german_not_half(make_role_user, client):
    """Issue 13: "Es wurde nichts geändert: the username typed (falsch) does not match…"."""
    client.force_login(make_role_user("Support"))
    account = AccountFactory(status=AccountStatus.ACTIVE)
    url = reverse("admin:accounts_account_cancellation_call", args=[account.pk])

    html = client.post(
        url, {"username": "falsch", "pause": "declined"}, HTTP_ACCEPT_LANGUAGE="de"
    ).content.decode()

    assert "Es wurde nichts geändert: der eingegebene Benutzername (falsch) passt nicht" in html
    assert "does not match" not in html
