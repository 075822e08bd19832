"""Bounces and complaints from the mail providers (item 3): Amazon SES, SendGrid, Postmark and
Mailgun webhooks, each call checked with the provider's own signature (Postmark: basic auth),
read by django-anymail; a hard bounce or a complaint suppresses the address for the account
that sent, with the provider's event as evidence; a soft bounce suppresses nothing."""

from __future__ import annotations

import pytest

from api import webhooks
from compliance.models import Complaint, Suppression, SuppressionReport
from compliance.selectors import is_suppressed
from tests.api.providers import (
    CERT_URL,
    PROVIDERS,
    SNS_CERTIFICATE_PEM,
    WHEN,
    amazon_ses,
    settings_for_webhooks,
)
from tests.factories import AccountFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

ADDRESS = "Reader@Example.com"


@pytest.fixture(autouse=True)
def providers_set_up(settings, monkeypatch):
    settings_for_webhooks(settings)
    served = {CERT_URL: SNS_CERTIFICATE_PEM}
    monkeypatch.setattr(webhooks, "_certificates", {})
    monkeypatch.setattr(webhooks, "fetch_certificate", lambda url: served[url])


def post(client, provider, call):
    return client.generic(
        "POST",
        f"/api/v1/webhooks/{provider}/tracking/",
        call.body,
        content_type=call.content_type,
        **call.headers,
    )


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_a_hard_bounce_suppresses_the_address_for_the_account_that_sent(client, provider):
    account, other = AccountFactory(), AccountFactory()

    response = post(client, provider, PROVIDERS[provider]("hard", ADDRESS, account.pk))

    assert response.status_code == 200, response.content
    suppression = Suppression.objects.get(account=account)
    assert (suppression.normalised, suppression.reason, suppression.source) == (
        "reader@example.com",
        "b",
        "bounce",
    )
    assert suppression.by_job == f"webhook {provider}"
    assert suppression.evidence.startswith(f"{provider} bounced event")
    assert ADDRESS in suppression.evidence  # the provider's event, as it came
    # When the provider saw it (SNS stamps its message a moment after SES's event).
    assert abs((suppression.at - WHEN).total_seconds()) < 2
    assert is_suppressed(account, ADDRESS, at=suppression.at)
    assert not Suppression.objects.filter(account=other).exists()


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_a_complaint_suppresses_the_address_and_is_listed_for_review(
    client, provider, make_role_user
):
    account = AccountFactory(username=f"complained-{provider}")

    post(client, provider, PROVIDERS[provider]("complaint", ADDRESS, account.pk))

    suppression = Suppression.objects.get(account=account)
    assert (suppression.reason, suppression.source) == ("c", "complaint")
    assert Complaint.objects.filter(pk=suppression.pk).exists()
    client.force_login(make_role_user("Compliance"))
    review = client.get("/admin/compliance/complaint/", {"provider": f"webhook {provider}"})
    assert review.status_code == 200
    assert account.username in review.content.decode()


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_a_soft_bounce_suppresses_nothing(client, provider):
    account = AccountFactory()

    response = post(client, provider, PROVIDERS[provider]("soft", ADDRESS, account.pk))

    assert response.status_code == 200
    assert not Suppression.objects.filter(account=account).exists()


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_a_call_whose_signature_does_not_match_is_refused_and_records_nothing(client, provider):
    account = AccountFactory()

    response = post(client, provider, PROVIDERS[provider]("hard", ADDRESS, account.pk, tamper=True))

    assert response.status_code == 400
    assert not Suppression.objects.exists()


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_a_call_without_the_webhook_credentials_is_refused(client, provider):
    call = PROVIDERS[provider]("hard", ADDRESS, AccountFactory().pk)
    call.headers.pop("HTTP_AUTHORIZATION")

    response = post(client, provider, call)

    assert response.status_code == 401
    assert not Suppression.objects.exists()


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_a_redelivered_event_records_once(client, provider):
    account = AccountFactory()
    call = PROVIDERS[provider]("hard", ADDRESS, account.pk)

    post(client, provider, call)
    post(client, provider, call)

    assert Suppression.objects.filter(account=account).count() == 1
    assert SuppressionReport.objects.filter(account=account).count() == 1


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_an_event_naming_no_known_account_is_acknowledged_and_records_nothing(client, provider):
    response = post(client, provider, PROVIDERS[provider]("hard", ADDRESS, 987654321))

    assert response.status_code == 200
    assert not Suppression.objects.exists()


def test_an_sns_certificate_not_served_by_amazon_sns_is_refused(client):
    account = AccountFactory()
    for url in (
        "http://sns.eu-west-1.amazonaws.com/cert.pem",
        "https://sns.eu-west-1.amazonaws.com.evil.example/cert.pem",
        "https://evil.example/sns.eu-west-1.amazonaws.com/cert.pem",
        "https://sns.eu-west-1.amazonaws.com/cert.txt",
    ):
        response = post(client, "amazon_ses", amazon_ses("hard", ADDRESS, account.pk, cert_url=url))
        assert response.status_code == 400, url
    assert not Suppression.objects.exists()


def test_an_sns_message_of_another_topic_is_refused(client):
    """Anyone can point their own SNS topic at the URL: its messages are signed by Amazon too."""
    call = amazon_ses(
        "hard", ADDRESS, AccountFactory().pk, topic="arn:aws:sns:eu-west-1:999999999999:other"
    )

    assert post(client, "amazon_ses", call).status_code == 400
    assert not Suppression.objects.exists()


def test_a_provider_that_is_not_set_up_answers_404(client, settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hooks:secret"}  # no Mailgun or SendGrid key
    settings.AMAZON_SNS_TOPIC_ARNS = []
    account = AccountFactory()

    for provider in ("mailgun", "sendgrid", "amazon_ses", "nonesuch"):
        call = PROVIDERS.get(provider, PROVIDERS["postmark"])("hard", ADDRESS, account.pk)
        assert post(client, provider, call).status_code == 404, provider


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b'{"Type": 1}', b"\xff\xfe"])
@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_an_unreadable_call_is_refused_without_an_error(client, provider, body):
    call = PROVIDERS[provider]("hard", ADDRESS, 1)
    call.body = body

    response = post(client, provider, call)

    # Refused, or (a readable event of no kind we know) acknowledged: never a server error.
    assert response.status_code in (400, 200)
    assert not Suppression.objects.exists()
