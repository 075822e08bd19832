"""The three public endpoints over real HTTP (a live server): sign-up form posts, hosted files
and unsubscribe links, before and after cancelling (R6, R9)."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from accounts.links import unsubscribe_token, unsubscribe_url
from accounts.models import AccountStatus, Contact, SignupForm, SignupSubmission
from accounts.services import account_mark_purged
from compliance.models import OptIn, Suppression
from compliance.selectors import is_suppressed
from compliance.services import suppression_record
from core.actors import Actor
from tests.accounts.factories import PNG, ContactFactory, HostedFileFactory, SignupFormFactory
from tests.factories import AccountFactory
from workflows.cancellation import account_cancel

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
S = AccountStatus


@pytest.fixture(autouse=True)
def _remove_suppressions_after(live_server):
    """These tests commit suppressions, which the database refuses to delete or truncate
    (R9, R12); the test database must still be flushed between tests, so the rows go with the
    append-only triggers switched off for this session only."""
    yield
    if connection.vendor != "postgresql":
        Suppression.objects.all()._raw_delete(Suppression.objects.db)
        return
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute("DELETE FROM compliance_suppression")
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")


def http(url: str, data: dict | None = None) -> tuple[int, bytes, dict]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with urllib.request.urlopen(url, data=body, timeout=10) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def cancel(account):
    account_cancel(
        account=account,
        by=Actor.system("test"),
        now=timezone.now(),
        reason="Customer left",
        voluntary=True,
    )


# --- Sign-up forms --------------------------------------------------------------------------


def test_a_signup_to_an_open_account_records_the_contact(live_server):
    form = SignupFormFactory(account=AccountFactory(status=S.ACTIVE))

    status, body, _ = http(
        f"{live_server.url}/p/signup/{form.public_key}/", {"email": "new@reader.example"}
    )

    assert status == 200
    assert b"Thank you" in body
    assert Contact.objects.filter(account=form.account, email="new@reader.example").exists()
    assert SignupSubmission.objects.get(form=form).source_ip == "127.0.0.1"


def test_a_signup_by_an_address_that_unsubscribed_lifts_nothing_until_it_confirms_R9(
    live_server, mailoutbox
):
    form = SignupFormFactory(account=AccountFactory(status=S.ACTIVE), name="Newsletter box")
    suppression_record(
        account=form.account,
        address="Back.Again@Reader.example",
        source="unsubscribe_link",
        at=timezone.now() - timedelta(days=30),
        by=Actor.system("unsubscribe_link"),
    )

    status, _, _ = http(
        f"{live_server.url}/p/signup/{form.public_key}/", {"email": "back.again@reader.example"}
    )

    assert status == 200
    assert not OptIn.objects.exists()
    assert is_suppressed(form.account, "back.again@reader.example", at=timezone.now())
    assert Contact.objects.get(account=form.account).awaiting_confirmation
    (message,) = mailoutbox
    assert message.to == ["back.again@reader.example"] and "/p/confirm/" in message.body
    assert Suppression.objects.filter(account=form.account).count() == 1


@pytest.mark.parametrize("closed", [S.CANCELLED, S.EXPIRED, S.PURGED])
def test_a_signup_to_a_closed_account_answers_success_records_nothing_and_counts_R6(
    live_server, closed
):
    form = SignupFormFactory(account=AccountFactory(status=closed))

    status, body, _ = http(
        f"{live_server.url}/p/signup/{form.public_key}/", {"email": "late@reader.example"}
    )

    assert status == 200
    assert b"Thank you" in body
    assert not Contact.objects.filter(email="late@reader.example").exists()
    assert not SignupSubmission.objects.exists()
    assert SignupForm.objects.get(pk=form.pk).discarded_signups == 1


def test_after_cancelling_the_form_keeps_answering_but_stops_recording_R6(live_server):
    form = SignupFormFactory(account=AccountFactory(status=S.ACTIVE))
    url = f"{live_server.url}/p/signup/{form.public_key}/"
    assert http(url, {"email": "before@reader.example"})[0] == 200

    cancel(form.account)
    statuses = [http(url, {"email": f"after{i}@reader.example"})[0] for i in range(2)]

    assert statuses == [200, 200]
    assert list(Contact.objects.values_list("email", flat=True)) == ["before@reader.example"]
    assert SignupForm.objects.get(pk=form.pk).discarded_signups == 2


def test_a_signup_without_a_valid_address_or_form_is_refused(live_server):
    form = SignupFormFactory(account=AccountFactory(status=S.ACTIVE))

    assert http(f"{live_server.url}/p/signup/{form.public_key}/", {"email": "nope"})[0] == 400
    assert http(f"{live_server.url}/p/signup/no-such-form/", {"email": "a@b.example"})[0] == 404
    assert http(f"{live_server.url}/p/signup/{form.public_key}/")[0] == 405  # GET
    assert not Contact.objects.exists()


# --- Hosted files ---------------------------------------------------------------------------


def test_a_hosted_file_is_served_while_online_and_gone_after_cancelling_R6(live_server):
    file = HostedFileFactory(account=AccountFactory(status=S.ACTIVE))
    url = f"{live_server.url}/p/files/{file.public_key}/"

    status, body, headers = http(url)
    assert (status, body, headers["Content-Type"]) == (200, PNG, "image/png")

    cancel(file.account)

    assert http(url)[0] == 410


def test_an_unknown_hosted_file_is_not_found(live_server):
    assert http(f"{live_server.url}/p/files/never-existed/")[0] == 404


def test_a_paused_accounts_files_stay_online_R8(live_server):
    file = HostedFileFactory(account=AccountFactory(status=S.PAUSED))

    assert http(f"{live_server.url}/p/files/{file.public_key}/")[0] == 200


# --- Unsubscribe links ----------------------------------------------------------------------


def unsubscribe_link(live_server, account, address):
    url = unsubscribe_url(account_id=account.pk, address=address)
    return live_server.url + urllib.parse.urlparse(url).path


def test_an_unsubscribe_link_records_a_suppression_R9(live_server):
    account = AccountFactory(status=S.ACTIVE)
    contact = ContactFactory(account=account, email="Reader@Example.org")

    status, body, _ = http(unsubscribe_link(live_server, account, contact.email))

    assert status == 200
    assert b"You are unsubscribed" in body
    suppression = Suppression.objects.get(account=account)
    assert (suppression.address, suppression.source, suppression.by_job) == (
        "Reader@Example.org",
        "unsubscribe_link",
        "unsubscribe_link",
    )
    assert "unsubscribe link issued" in suppression.evidence


def test_unsubscribe_still_works_after_cancelling_and_after_purge_R6_R9(live_server):
    account = AccountFactory(status=S.ACTIVE)
    ContactFactory(account=account, email="first@example.org")
    ContactFactory(account=account, email="second@example.org")
    first = unsubscribe_link(live_server, account, "first@example.org")
    second = unsubscribe_link(live_server, account, "second@example.org")

    cancel(account)
    assert http(first)[0] == 200

    # purge deletes the contacts; the link carries the account and the address, not a contact
    Contact.objects.filter(account=account).delete()
    account_mark_purged(
        account=account, by=Actor.system("purge_inactive"), now=timezone.now(), reason="R7"
    )
    assert http(second)[0] == 200

    assert sorted(s.address for s in Suppression.objects.filter(account=account)) == [
        "first@example.org",
        "second@example.org",
    ]


def test_a_forged_unsubscribe_link_is_refused_plainly_and_records_nothing_R9(live_server):
    account = AccountFactory(status=S.ACTIVE)
    token = unsubscribe_token(account_id=account.pk, address="reader@example.org")
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")

    for bad in (forged, "not-a-token", token.replace(token.split(":")[0], "eyJhIjoxfQ")):
        status, body, _ = http(f"{live_server.url}/p/unsubscribe/{bad}/")
        assert status == 400
        assert b"This link is not valid" in body
    assert not Suppression.objects.exists()


def test_an_unsubscribe_link_works_years_after_it_was_sent_R9(live_server):
    account = AccountFactory(status=S.ACTIVE)
    with time_machine.travel(datetime.now(UTC) - timedelta(days=5 * 366), tick=False):
        old = unsubscribe_token(account_id=account.pk, address="reader@example.org")

    status, body, _ = http(f"{live_server.url}/p/unsubscribe/{old}/")

    assert (status, b"You are unsubscribed" in body) == (200, True)
    assert Suppression.objects.get(account=account).normalised == "reader@example.org"


@pytest.mark.parametrize(
    "address",
    ["a@[127.0.0.1]", "x" * 65 + "@Example.org", "Reader@[IPv6:2001:db8::1]"],
)
def test_an_unsubscribe_we_signed_is_recorded_whatever_the_address_looks_like_R9(
    live_server, address
):
    account = AccountFactory(status=S.ACTIVE)

    status, body, _ = http(unsubscribe_link(live_server, account, address))

    assert status == 200 and b"You are unsubscribed" in body
    suppression = Suppression.objects.get(account=account)
    assert suppression.address == address
    # The same address, however it is written, matches the entry again.
    assert is_suppressed(account, address.upper(), at=timezone.now())
    assert http(unsubscribe_link(live_server, account, address.upper()))[0] == 200
    assert Suppression.objects.filter(account=account).count() == 1


# --- Malformed keys -----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/p/signup/%00/", "/p/files/%00/", "/p/signup/a%00b/"])
def test_a_nul_byte_in_a_public_key_is_not_found_not_a_server_error(client, path):
    response = client.post(path, {"email": "a@b.example"}) if "signup" in path else client.get(path)

    assert response.status_code == 404
    assert not Contact.objects.exists()
