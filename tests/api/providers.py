"""Webhook calls as each mail provider makes them: their documented payloads, signed as the
provider signs them, with test keys and a test certificate made here.

- Amazon SES through Amazon SNS: an SNS Notification whose Message is the SES event, signed
  (SignatureVersion 2, RSA with SHA-256) with the key of a self-signed certificate that the
  test serves for the SNS certificate URL;
- SendGrid: the signed event webhook, ECDSA P-256 over timestamp + body;
- Mailgun: the JSON webhook with its HMAC-SHA256 signature block;
- Postmark: basic auth only (Postmark signs nothing).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from api.webhooks import sns_string_to_sign

WEBHOOK_SECRET = "hooks:s3cret-for-tests"
MAILGUN_KEY = "key-mailgun-signing-for-tests"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:ses-events"
CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem"
WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _rsa_certificate():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(WHEN - timedelta(days=1))
        .not_valid_after(WHEN + timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return key, certificate.public_bytes(serialization.Encoding.PEM)


SNS_KEY, SNS_CERTIFICATE_PEM = _rsa_certificate()
SENDGRID_KEY = ec.generate_private_key(ec.SECP256R1())
# What SendGrid shows as the verification key: the public key, base64 DER, no PEM lines.
SENDGRID_PUBLIC = base64.b64encode(
    SENDGRID_KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
).decode()


def settings_for_webhooks(settings) -> None:
    settings.ANYMAIL = {
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY,
        "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY": SENDGRID_PUBLIC,
    }
    settings.AMAZON_SNS_TOPIC_ARNS = [TOPIC]


@dataclass
class Call:
    body: bytes
    content_type: str = "application/json"
    headers: dict = field(default_factory=dict)


def _basic(secret: str = WEBHOOK_SECRET) -> str:
    return "Basic " + base64.b64encode(secret.encode()).decode()


# --- Amazon SES -------------------------------------------------------------------------------


def ses_event(kind: str, address: str, account_id) -> dict:
    mail = {
        "timestamp": "2026-03-01T11:59:58.000Z",
        "source": "Newsletter <news@shop.example>",
        "sendingAccountId": "123456789012",
        "messageId": "0102018e0f5b4c1a-ses-message-1",
        "destination": [address],
        "headersTruncated": False,
        "headers": [{"name": "X-Metadata", "value": json.dumps({"account": str(account_id)})}],
        "tags": {"ses:configuration-set": ["marketing"]},
    }
    if kind in ("hard", "soft"):
        return {
            "eventType": "Bounce",
            "bounce": {
                "bounceType": "Permanent" if kind == "hard" else "Transient",
                "bounceSubType": "General" if kind == "hard" else "MailboxFull",
                "bouncedRecipients": [
                    {
                        "emailAddress": address,
                        "action": "failed",
                        "status": "5.1.1" if kind == "hard" else "4.2.2",
                        "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                    }
                ],
                "timestamp": "2026-03-01T12:00:00.000Z",
                "feedbackId": "0102018e0f5b4c1a-feedback-1",
                "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com",
            },
            "mail": mail,
        }
    return {
        "eventType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": address}],
            "timestamp": "2026-03-01T12:00:00.000Z",
            "feedbackId": "0102018e0f5b4c1a-feedback-2",
            "userAgent": "Mozilla/5.0 (webmail)",
            "complaintFeedbackType": "abuse",
            "arrivalDate": "2026-03-01T12:00:00.000Z",
        },
        "mail": mail,
    }


def sns_message(message: dict, *, topic: str = TOPIC, cert_url: str = CERT_URL) -> dict:
    sns = {
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": topic,
        "Message": json.dumps(message),
        "Timestamp": "2026-03-01T12:00:01.000Z",
        "SignatureVersion": "2",
        "SigningCertURL": cert_url,
        "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&x=1",
    }
    signature = SNS_KEY.sign(sns_string_to_sign(sns), padding.PKCS1v15(), hashes.SHA256())
    sns["Signature"] = base64.b64encode(signature).decode()
    return sns


def amazon_ses(kind, address, account_id, *, tamper=False, **sns_options) -> Call:
    sns = sns_message(ses_event(kind, address, account_id), **sns_options)
    if tamper:
        sns["Message"] = sns["Message"].replace(address, "someone.else@example.com")
    return Call(
        body=json.dumps(sns).encode(),
        content_type="text/plain; charset=UTF-8",
        headers={
            "HTTP_AUTHORIZATION": _basic(),
            "HTTP_X_AMZ_SNS_MESSAGE_TYPE": "Notification",
            "HTTP_X_AMZ_SNS_MESSAGE_ID": sns["MessageId"],
            "HTTP_X_AMZ_SNS_TOPIC_ARN": sns["TopicArn"],
        },
    )


# --- SendGrid ---------------------------------------------------------------------------------


def sendgrid(kind, address, account_id, *, tamper=False) -> Call:
    event = {
        "email": address,
        "timestamp": int(WHEN.timestamp()),
        "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
        "sg_event_id": f"sg-{kind}-6g4ZI7SA-xmRDv57GoPIPw",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        "category": ["newsletter"],
        "account": str(account_id),
    }
    if kind == "complaint":
        event["event"] = "spamreport"
    else:
        event.update(
            event="bounce",
            type="bounce" if kind == "hard" else "blocked",
            status="5.0.0" if kind == "hard" else "4.0.0",
            reason="550 5.1.1 unknown recipient" if kind == "hard" else "421 try again later",
        )
    body = json.dumps([event]).encode()
    timestamp = str(int(WHEN.timestamp()))
    signature = SENDGRID_KEY.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    if tamper:
        body = body.replace(address.encode(), b"someone.else@example.com")
    return Call(
        body=body,
        headers={
            "HTTP_AUTHORIZATION": _basic(),
            "HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE": base64.b64encode(signature).decode(),
            "HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP": timestamp,
        },
    )


# --- Postmark ---------------------------------------------------------------------------------


def postmark(kind, address, account_id, *, tamper=False) -> Call:
    record = {
        "MessageStream": "outbound",
        "ID": 4323372036854775807 if kind != "complaint" else 42,
        "Tag": "Newsletter",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Metadata": {"account": str(account_id)},
        "ServerID": 23,
        "Email": address,
        "From": "news@shop.example",
        "BouncedAt": "2026-03-01T12:00:00.0000000Z",
        "Subject": "March offers",
    }
    if kind == "complaint":
        record.update(
            RecordType="SpamComplaint",
            Type="SpamComplaint",
            TypeCode=512,
            Name="Spam complaint",
            Description="The subscriber explicitly marked this message as spam.",
            Details="Test spam complaint details",
        )
    else:
        record.update(
            RecordType="Bounce",
            Type="HardBounce" if kind == "hard" else "SoftBounce",
            TypeCode=1 if kind == "hard" else 4096,
            Name="Hard bounce" if kind == "hard" else "Soft bounce",
            Description="The server was unable to deliver your message",
            Details="smtp;550 5.1.1 The email account that you tried to reach does not exist",
        )
    secret = "hooks:wrong-password" if tamper else WEBHOOK_SECRET
    return Call(body=json.dumps(record).encode(), headers={"HTTP_AUTHORIZATION": _basic(secret)})


# --- Mailgun ----------------------------------------------------------------------------------


def mailgun(kind, address, account_id, *, tamper=False) -> Call:
    timestamp, token = "1772366400", f"a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0{kind}"
    signature = hmac.new(
        MAILGUN_KEY.encode(), f"{timestamp}{token}".encode(), hashlib.sha256
    ).hexdigest()
    data = {
        "id": "G9Bn5sl1TC6nu79C8C0bwg",
        "timestamp": WHEN.timestamp(),
        "recipient": address,
        "message": {
            "headers": {
                "to": address,
                "message-id": "20260301120000.1.mailgun@shop.example",
                "from": "news@shop.example",
                "subject": "March offers",
            }
        },
        "user-variables": {"account": str(account_id)},
        "tags": ["newsletter"],
    }
    if kind == "complaint":
        data.update(event="complained", **{"log-level": "warn"})
    else:
        data.update(
            event="failed",
            severity="permanent" if kind == "hard" else "temporary",
            reason="bounce" if kind == "hard" else "generic",
            **{
                "log-level": "error",
                "delivery-status": {
                    "code": 550 if kind == "hard" else 452,
                    "message": "5.1.1 The email account does not exist",
                    "description": "",
                    "attempt-no": 1,
                },
            },
        )
    if tamper:
        signature = "0" * 64
    body = {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": data,
    }
    return Call(body=json.dumps(body).encode(), headers={"HTTP_AUTHORIZATION": _basic()})


PROVIDERS = {
    "amazon_ses": amazon_ses,
    "sendgrid": sendgrid,
    "postmark": postmark,
    "mailgun": mailgun,
}
