"""Only the address's owner lifts an unsubscribe (R9, SPEC "Explicit opt-in means the address's
owner confirmed it"): the public sign-up form of a suppressed address lifts nothing; it mails
that address a confirmation link, and only the click on it records the opt-in, with the
evidence chain (form, post time and IP, mail sent, click time and IP)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from accounts.links import optin_confirmation_url
from accounts.models import AccountStatus, Contact, SignupSubmission
from compliance.models import OptIn, OptInConfirmation, OptInMethod, Suppression
from compliance.selectors import is_suppressed
from compliance.services import suppression_record
from core.actors import Actor
from tests.accounts.factories import SignupFormFactory
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db
S = AccountStatus
BACK = "Back.Again@Reader.example"
POSTER = "198.51.100.7"
READER = "203.0.113.40"


@pytest.fixture
def form():
    return SignupFormFactory(
        account=AccountFactory(status=S.ACTIVE, company="Acme Garden Supplies"),
        name="Newsletter box",
    )


def unsubscribed(form, address=BACK):
    suppression_record(
        account=form.account,
        address=address,
        source="unsubscribe_link",
        at=datetime(2026, 1, 5, tzinfo=UTC),
        by=Actor.system("unsubscribe_link"),
    )


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    """Post a sign-up as a browser does; what the request commits (the mail) happens at its
    end, as without the test's transaction."""

    def post(form, email, ip=POSTER, headers=None, **fields):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                f"/p/signup/{form.public_key}/",
                {"email": email, **fields},
                REMOTE_ADDR=ip,
                **(headers or {}),
            )

    return post


def confirmation_path(message) -> str:
    link = re.search(r"https?://\S+/p/confirm/\S+/", message.body).group(0)
    return urlparse(link).path


def test_a_signup_of_an_unsubscribed_address_lifts_nothing_and_mails_a_link_R9(client, form, post):
    unsubscribed(form)

    response = post(form, "back.again@reader.example")

    assert response.status_code == 200
    assert not OptIn.objects.exists()
    assert is_suppressed(form.account, BACK, at=timezone.now())
    contact = Contact.objects.get(account=form.account)
    assert contact.awaiting_confirmation  # recorded, but not mailed until confirmed
    (message,) = mail.outbox
    assert message.to == ["back.again@reader.example"]
    assert "Acme Garden Supplies" in message.subject
    assert "/p/confirm/" in message.body
    confirmation = OptInConfirmation.objects.get()
    assert (confirmation.posted_ip, confirmation.form_name) == (POSTER, "Newsletter box")
    assert confirmation.mail_sent_at is not None and confirmation.confirmed_at is None


def test_only_the_click_records_the_opt_in_with_its_evidence_chain_R9(client, form, post):
    unsubscribed(form)
    post(form, "back.again@reader.example")
    path = confirmation_path(mail.outbox[0])

    shown = client.get(path, REMOTE_ADDR=READER)  # a mail scanner opening the link
    assert shown.status_code == 200 and b"Yes, subscribe me again" in shown.content
    assert not OptIn.objects.exists()

    clicked = client.post(path, REMOTE_ADDR=READER, HTTP_USER_AGENT="Thunderbird/140")

    assert clicked.status_code == 200 and b"Subscription confirmed" in clicked.content
    optin = OptIn.objects.get()
    confirmation = OptInConfirmation.objects.get()
    assert optin.method == OptInMethod.DOUBLE_OPT_IN and optin.by_job == "double_opt_in"
    assert confirmation.optin == optin and confirmation.confirmed_ip == READER
    assert optin.at == confirmation.confirmed_at
    for part in ("Newsletter box", POSTER, READER):
        assert part in optin.origin
    for part in (
        "Newsletter box",
        f"posted {confirmation.posted_at:%Y-%m-%d %H:%M:%S} UTC from {POSTER}",
        f"mailed to back.again@reader.example {confirmation.mail_sent_at:%Y-%m-%d %H:%M:%S}",
        f"clicked {confirmation.confirmed_at:%Y-%m-%d %H:%M:%S} UTC from {READER}",
        "Thunderbird/140",
    ):
        assert part in optin.evidence
    assert not is_suppressed(form.account, BACK, at=timezone.now())
    assert not Contact.objects.get(account=form.account).awaiting_confirmation
    assert Suppression.objects.filter(account=form.account).count() == 1  # never deleted


def test_a_second_click_records_nothing_new(client, form, post):
    unsubscribed(form)
    post(form, BACK)
    path = confirmation_path(mail.outbox[0])
    client.post(path, REMOTE_ADDR=READER)

    again = client.post(path, REMOTE_ADDR="192.0.2.99")

    assert again.status_code == 200 and b"already confirmed" in again.content
    assert OptIn.objects.count() == 1
    assert OptInConfirmation.objects.get().confirmed_ip == READER


def test_a_confirmation_link_expires_after_its_days_and_lifts_nothing(client, form, settings, post):
    settings.OPTIN_CONFIRMATION_DAYS = 30
    unsubscribed(form)
    post(form, BACK)
    path = confirmation_path(mail.outbox[0])

    with time_machine.travel(timezone.now() + timedelta(days=31)):
        late = client.post(path, REMOTE_ADDR=READER)

    assert late.status_code == 410 and b"sign up again" in late.content
    assert not OptIn.objects.exists()


def test_a_forged_confirmation_link_is_refused_and_records_nothing(client, form):
    unsubscribed(form)

    for token in ("not-a-token", "eyJjIjoxfQ:1tAbCd:forged", "%00"):
        response = client.post(f"/p/confirm/{token}/", REMOTE_ADDR=READER)
        assert response.status_code == 400
    assert not OptIn.objects.exists()


def test_a_confirmation_link_survives_a_key_rotation(client, form, settings, post):
    unsubscribed(form)
    post(form, BACK)
    path = confirmation_path(mail.outbox[0])
    old_key = settings.SECRET_KEY

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "k3y-after-rotation-" + "q" * 40, [old_key]

    assert client.post(path, REMOTE_ADDR=READER).status_code == 200
    assert OptIn.objects.count() == 1


def test_posting_an_unsubscribed_address_again_and_again_mails_it_once_a_day(client, form, post):
    unsubscribed(form)
    start = datetime(2026, 11, 2, 9, tzinfo=UTC)

    for minutes in (0, 5, 60 * 23):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            post(form, BACK, ip=f"198.51.100.{minutes % 250 + 1}")
    assert len(mail.outbox) == 1
    with time_machine.travel(start + timedelta(hours=25), tick=False):
        post(form, BACK)

    assert len(mail.outbox) == 2
    assert OptInConfirmation.objects.count() == 2
    assert Contact.objects.filter(awaiting_confirmation=True).count() == 4


def test_a_signup_of_an_address_never_unsubscribed_is_recorded_as_before(client, form, post):
    response = post(form, "new@reader.example")

    assert response.status_code == 200
    assert not Contact.objects.get(email="new@reader.example").awaiting_confirmation
    assert not mail.outbox and not OptInConfirmation.objects.exists()


def test_the_public_cannot_tell_an_unsubscribed_address_from_a_new_one(client, form, post):
    unsubscribed(form)

    suppressed = post(form, BACK)
    fresh = post(form, "fresh@reader.example")

    assert (suppressed.status_code, suppressed.content) == (fresh.status_code, fresh.content)


def test_a_confirmation_for_an_account_closed_meanwhile_records_nothing_R6(client, form, post):
    unsubscribed(form)
    post(form, BACK)
    form.account.status = S.CANCELLED
    form.account.save(update_fields=["status"])

    response = client.post(confirmation_path(mail.outbox[0]), REMOTE_ADDR=READER)

    assert response.status_code == 200
    assert not OptIn.objects.exists()
    assert is_suppressed(form.account, BACK, at=timezone.now())


def test_a_refused_confirmation_mail_is_recorded_and_lifts_nothing(client, form, settings, post):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    unsubscribed(form)

    response = post(form, BACK)

    assert response.status_code == 200
    confirmation = OptInConfirmation.objects.get()
    assert confirmation.mail_sent_at is None and confirmation.mail_error
    assert not OptIn.objects.exists()


def test_the_confirmation_mail_speaks_the_accounts_language(client, post):
    form = SignupFormFactory(account=AccountFactory(status=S.ACTIVE, language="de"))
    unsubscribed(form)

    post(form, BACK)

    assert "Bitte bestätigen Sie" in mail.outbox[0].subject
    assert "abgemeldet" in mail.outbox[0].body


def test_the_confirmation_page_speaks_german_to_a_german_browser(client, form, post):
    unsubscribed(form)
    post(form, BACK)
    path = confirmation_path(mail.outbox[0])

    page = client.get(path, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    done = client.post(path, HTTP_ACCEPT_LANGUAGE="de").content.decode()

    assert '<html lang="de"' in page and "Ja, wieder anmelden" in page
    assert "Anmeldung bestätigt" in done


# --- The honeypot and the rate limits --------------------------------------------------------


def test_a_filled_honeypot_is_answered_like_success_and_records_nothing(client, form, post):
    unsubscribed(form)

    bot = post(form, BACK, website="http://spam.example")
    person = post(form, "person@reader.example", website="")

    assert bot.status_code == 200 and bot.content == person.content
    assert list(Contact.objects.values_list("email", flat=True)) == ["person@reader.example"]
    assert SignupSubmission.objects.count() == 1
    assert not mail.outbox and not OptInConfirmation.objects.exists()


def test_300_posts_from_one_address_in_6_seconds_are_not_all_recorded(client, form, settings, post):
    settings.SIGNUP_RATE_PER_ADDRESS = "10/m"
    start = datetime(2026, 11, 2, 9, 0, 0, tzinfo=UTC)

    statuses = []
    for n in range(300):
        with time_machine.travel(start + timedelta(milliseconds=20 * n), tick=False):
            statuses.append(post(form, f"bulk{n}@reader.example").status_code)

    recorded = SignupSubmission.objects.count()
    # Fixed one-minute windows: 6 s can straddle two of them.
    assert 10 <= recorded <= 20
    assert statuses.count(200) == recorded
    assert statuses.count(429) == 300 - recorded
    assert Contact.objects.count() == recorded
    # Another address is not held back by this one.
    with time_machine.travel(start + timedelta(seconds=6), tick=False):
        assert post(form, "other@reader.example", ip="192.0.2.1").status_code == 200


def test_past_the_limit_the_answer_is_429_with_retry_after_and_nothing_is_recorded(
    form, settings, post
):
    settings.SIGNUP_RATE_PER_ADDRESS = "3/m"
    unsubscribed(form)
    with time_machine.travel(datetime(2026, 11, 2, 9, tzinfo=UTC), tick=False):
        for n in range(3):
            assert post(form, f"ok{n}@reader.example").status_code == 200
        refused = post(form, BACK, headers={"HTTP_ACCEPT_LANGUAGE": "de"})

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert "Zu viele Anfragen" in refused.content.decode()
    assert not Contact.objects.filter(email=BACK).exists()
    assert not OptInConfirmation.objects.exists()


def test_a_form_posted_from_many_addresses_is_limited_per_form(client, form, settings, post):
    settings.SIGNUP_RATE_PER_FORM = "20/m"
    other = SignupFormFactory(account=form.account)

    with time_machine.travel(datetime(2026, 11, 2, 9, tzinfo=UTC), tick=False):
        statuses = [
            post(form, f"r{n}@reader.example", ip=f"198.51.100.{n + 1}").status_code
            for n in range(30)
        ]
        elsewhere = post(other, "calm@reader.example", ip="192.0.2.5")

    assert statuses.count(200) == 20 and statuses[20:] == [429] * 10
    assert SignupSubmission.objects.filter(form=form).count() == 20
    assert elsewhere.status_code == 200


def test_an_address_over_its_limit_does_not_use_up_the_forms_allowance(
    client, form, settings, post
):
    settings.SIGNUP_RATE_PER_ADDRESS, settings.SIGNUP_RATE_PER_FORM = "5/m", "10/m"

    with time_machine.travel(datetime(2026, 11, 2, 9, tzinfo=UTC), tick=False):
        for n in range(50):
            post(form, f"noisy{n}@reader.example")
        others = [
            post(form, f"q{n}@reader.example", ip=f"192.0.2.{n + 1}").status_code for n in range(5)
        ]

    assert others == [200] * 5


@pytest.mark.parametrize(
    "path, method",
    [
        ("/p/unsubscribe/not-a-token/", "get"),
        ("/p/files/no-such-file/", "get"),
        ("/p/confirm/not-a-token/", "get"),
    ],
)
def test_every_public_endpoint_is_rate_limited_per_address(client, settings, path, method):
    settings.UNSUBSCRIBE_RATE_PER_ADDRESS = "4/m"
    settings.FILES_RATE_PER_ADDRESS = "4/m"
    settings.CONFIRM_RATE_PER_ADDRESS = "4/m"

    with time_machine.travel(datetime(2026, 11, 2, 9, tzinfo=UTC), tick=False):
        statuses = [getattr(client, method)(path, REMOTE_ADDR=POSTER).status_code for _ in range(6)]

    assert 429 not in statuses[:4] and statuses[4:] == [429, 429]


def test_a_confirmation_url_names_the_confirmation_only():
    url = optin_confirmation_url(confirmation_id=42)

    assert "/p/confirm/" in url and "@" not in url


@pytest.mark.parametrize("address", ["a@[127.0.0.1]", "x" * 64 + "y@example.org"])
def test_a_signup_of_an_address_the_normaliser_refuses_is_recorded_not_a_server_error(
    client, form, post, address
):
    unsubscribed(form, address)

    response = post(form, address.upper())

    assert response.status_code == 200
    assert Contact.objects.get(account=form.account).awaiting_confirmation
    assert OptInConfirmation.objects.get().normalised == address.lower()
    assert len(mail.outbox) == 1
