"""The mail providers' tracking webhooks: Amazon SES (through Amazon SNS), SendGrid, Postmark
and Mailgun, read by django-anymail into its normalised tracking events, each call checked
first with the provider's own means:

- every provider: HTTP basic auth with ``WEBHOOK_SECRET`` (in the URL given to the provider);
- Amazon SES: the SNS message's signature, against Amazon's certificate for it, and the topic
  (``AMAZON_SNS_TOPIC_ARNS``); anymail checks the SNS headers and confirms the subscription;
- SendGrid: the ECDSA signature of its signed event webhook
  (``SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY``);
- Mailgun: the HMAC of each event (``MAILGUN_WEBHOOK_SIGNING_KEY``);
- Postmark signs nothing: its webhooks carry the basic-auth credentials only.

A hard bounce or a complaint becomes a suppression of the account that sent the message,
named by the message's metadata ``account`` (the account's id, set by the sending platform
on every message: README "For the sending platform"), with the provider's event as evidence;
soft bounces, deliveries, opens and clicks suppress nothing. A provider whose secrets are not
configured answers 404.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import urllib.request
import warnings
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from anymail.exceptions import AnymailError, AnymailNotSupportedWarning
from anymail.exceptions import AnymailWebhookValidationFailure as Invalid
from anymail.signals import AnymailTrackingEvent, EventType
from anymail.webhooks.amazon_ses import AmazonSESTrackingWebhookView
from anymail.webhooks.mailgun import MailgunTrackingWebhookView
from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from anymail.webhooks.sendgrid import SendGridTrackingWebhookView
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from compliance.models import SuppressionReason
from compliance.services.reports import ProviderReport, provider_reports_record

logger = logging.getLogger(__name__)

# SendGrid is no longer among anymail's officially supported providers; its webhook reader is
# still there, and we check SendGrid's signature ourselves through it.
warnings.filterwarnings("ignore", category=AnymailNotSupportedWarning)

# The metadata key naming the account that sent the message (its id).
ACCOUNT_KEY = "account"
# How much of a provider's event is kept as evidence.
EVIDENCE_LIMIT = 4000


# --- Amazon SNS signatures -----------------------------------------------------------------

# Amazon SNS signs each message with the certificate at SigningCertURL, which must be served
# by SNS itself over HTTPS (docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message).
SNS_CERTIFICATE_HOST = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")
SNS_SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
SNS_SIGNED_FIELDS["UnsubscribeConfirmation"] = SNS_SIGNED_FIELDS["SubscriptionConfirmation"]
SNS_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
_certificates: dict[str, x509.Certificate] = {}


def sns_string_to_sign(message: dict[str, Any]) -> bytes:
    """What SNS signed: each signed field present, as "name\\nvalue\\n", in that order."""
    fields = SNS_SIGNED_FIELDS[message["Type"]]
    return "".join(f"{name}\n{message[name]}\n" for name in fields if name in message).encode()


def fetch_certificate(url: str) -> bytes:
    """The PEM at `url` (an SNS certificate URL, checked before)."""
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (https, SNS host)
        return response.read(64 * 1024)


def sns_certificate(url: str) -> x509.Certificate:
    """Amazon's certificate at `url`, fetched once per process."""
    parts = urlsplit(url)
    if (
        parts.scheme != "https"
        or not SNS_CERTIFICATE_HOST.fullmatch(parts.hostname or "")
        or parts.port not in (None, 443)
        or not parts.path.endswith(".pem")
    ):
        raise Invalid("SNS signing certificate is not served by Amazon SNS")
    if url not in _certificates:
        try:
            _certificates[url] = x509.load_pem_x509_certificate(fetch_certificate(url))
        except (OSError, ValueError) as exc:
            raise Invalid(f"SNS signing certificate could not be read: {exc}") from None
    return _certificates[url]


class SNSSignatureMixin:
    """Checks an Amazon SNS message's signature and topic (anymail runs every
    ``validate_request`` of the class)."""

    def validate_request(self, request: HttpRequest) -> None:
        message = self._parse_sns_message(request)  # type: ignore[attr-defined]
        if not isinstance(message, dict) or message.get("Type") not in SNS_SIGNED_FIELDS:
            raise Invalid("not an SNS message")
        if message.get("TopicArn") not in settings.AMAZON_SNS_TOPIC_ARNS:
            raise Invalid("SNS message from a topic not in AMAZON_SNS_TOPIC_ARNS")
        algorithm = SNS_HASHES.get(str(message.get("SignatureVersion")))
        if algorithm is None:
            raise Invalid("unknown SNS signature version")
        certificate = sns_certificate(str(message.get("SigningCertURL", "")))
        try:
            signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
            certificate.public_key().verify(  # type: ignore[call-arg]
                signature, sns_string_to_sign(message), padding.PKCS1v15(), algorithm()
            )
        except (InvalidSignature, binascii.Error, KeyError, TypeError, ValueError):
            raise Invalid("SNS message signature does not match") from None


# --- From a provider's event to a suppression ----------------------------------------------


def _hard_bounce(provider: str, esp: Any) -> bool:
    """Whether a bounce event is permanent: soft (transient) bounces suppress nothing."""
    if provider == "amazon_ses":
        return esp.get("bounce", {}).get("bounceType") == "Permanent"
    if provider == "sendgrid":
        # "bounce" is a hard bounce; "blocked" a soft one (the receiver refused for now).
        return esp.get("type", "bounce") == "bounce"
    if provider == "postmark":
        return esp.get("Type") == "HardBounce"
    if provider == "mailgun":
        # anymail reads temporary failures as deferred; a permanent one says so.
        data = esp.get("event-data") if hasattr(esp, "get") else None
        return data is None or data.get("severity", "permanent") == "permanent"
    return False


def _account_id(provider: str, event: AnymailTrackingEvent) -> int | None:
    value: Any = (event.metadata or {}).get(ACCOUNT_KEY)
    if value is None and provider == "amazon_ses":
        # SES message tags (a configuration set's event destination) name it too.
        tags = (event.esp_event.get("mail") or {}).get("tags") or {}
        value = (tags.get(ACCOUNT_KEY) or [None])[0]
    try:
        account_id = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return account_id if 0 < account_id < 2**63 else None


def _evidence(provider: str, event: AnymailTrackingEvent) -> str:
    esp = event.esp_event
    if hasattr(esp, "lists"):  # Mailgun's legacy form posts
        esp = {name: values for name, values in esp.lists()}
    words = "; ".join(str(w) for w in (event.description, event.mta_response) if w)
    text = f"{provider} {event.event_type} event {event.event_id or '-'}"
    text += f": {words}" if words else ""
    return f"{text} | {json.dumps(esp, default=str, sort_keys=True)}"[:EVIDENCE_LIMIT]


def provider_reports(provider: str, events: list[AnymailTrackingEvent]) -> list[ProviderReport]:
    """The hard bounces and complaints among anymail's events, as reports to record."""
    reports = []
    for event in events:
        if event.event_type == EventType.COMPLAINED:
            reason = SuppressionReason.COMPLAINT
        elif event.event_type == EventType.BOUNCED and _hard_bounce(provider, event.esp_event):
            reason = SuppressionReason.HARD_BOUNCE
        else:
            continue
        if not event.recipient:
            continue
        reports.append(
            ProviderReport(
                account_id=_account_id(provider, event),
                address=str(event.recipient),
                reason=reason,
                at=event.timestamp or timezone.now(),
                event_id=str(event.event_id or event.message_id or event.timestamp),
                evidence=_evidence(provider, event),
            )
        )
    return reports


class RecordsSuppressions:
    """Instead of anymail's signal: the events of a call are recorded by one service call."""

    provider = ""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if getattr(self, "basic_auth", None) and not request.META.get("HTTP_AUTHORIZATION"):
            # Amazon SNS sends the credentials only after a 401 asking for them.
            response = HttpResponse(status=401)
            response["WWW-Authenticate"] = 'Basic realm="webhooks"'
            return response
        self.run_validators(request)  # type: ignore[attr-defined]
        events = self.parse_events(request)  # type: ignore[attr-defined]
        counts = provider_reports_record(
            provider=self.provider,
            reports=provider_reports(self.provider, events),
            now=timezone.now(),
        )
        if counts["unknown_account"] or counts["refused"]:
            logger.warning("webhook %s: events left: %s", self.provider, counts)
        return HttpResponse()


class SES(RecordsSuppressions, SNSSignatureMixin, AmazonSESTrackingWebhookView):
    provider = "amazon_ses"


class SendGrid(RecordsSuppressions, SendGridTrackingWebhookView):
    provider = "sendgrid"


class Postmark(RecordsSuppressions, PostmarkTrackingWebhookView):
    provider = "postmark"


class Mailgun(RecordsSuppressions, MailgunTrackingWebhookView):
    provider = "mailgun"


def _anymail(name: str) -> str:
    return str(getattr(settings, "ANYMAIL", {}).get(name) or "")


# Each provider's view, and what must be configured before it answers.
PROVIDERS: dict[str, tuple[type, Callable[[], bool]]] = {
    "amazon_ses": (SES, lambda: bool(settings.AMAZON_SNS_TOPIC_ARNS)),
    "sendgrid": (SendGrid, lambda: bool(_anymail("SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY"))),
    "postmark": (Postmark, lambda: True),
    "mailgun": (Mailgun, lambda: bool(_anymail("MAILGUN_WEBHOOK_SIGNING_KEY"))),
}


@csrf_exempt  # posted by the providers, authenticated by their own means
def tracking(request: HttpRequest, provider: str) -> HttpResponse:
    """A provider's tracking webhook. 404 when the provider is not set up; 400 (and nothing
    recorded) when the call fails its checks or cannot be read."""
    view_class, configured = PROVIDERS.get(provider, (None, lambda: False))
    if view_class is None or not _anymail("WEBHOOK_SECRET") or not configured():
        return HttpResponse(status=404)
    try:
        return view_class.as_view()(request)
    except Invalid:
        return HttpResponse("invalid webhook call", status=400, content_type="text/plain")
    except (AnymailError, ValueError, KeyError, TypeError, AttributeError) as exc:
        logger.warning("webhook %s: unreadable call: %s", provider, type(exc).__name__)
        return HttpResponse("unreadable webhook call", status=400, content_type="text/plain")
