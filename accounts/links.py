"""Signed public links, no login: unsubscribe links (one per account and address) and double
opt-in confirmation links (one per confirmation mailed).

An unsubscribe token carries the account id and the address (not a contact id), so it keeps
working after the account is cancelled or purged and its contacts deleted (R9, SPEC
"Unsubscribe links keep working"): it never expires. Tokens are signed with SECRET_KEY and
checked against SECRET_KEY_FALLBACKS too, so links mailed before a key rotation keep working
(README, "Rotating SECRET_KEY"). An unsubscribe token also carries when it was issued.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "accounts.unsubscribe"
CONFIRMATION_SALT = "compliance.optin_confirmation"


@dataclass(frozen=True)
class UnsubscribeClaim:
    account_id: int
    address: str
    issued_at: datetime


class InvalidLink(ValueError):
    """A forged or damaged link."""


def _absolute(path: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def unsubscribe_token(*, account_id: int, address: str) -> str:
    return signing.dumps({"a": account_id, "e": address}, salt=SALT, compress=True)


def unsubscribe_url(*, account_id: int, address: str) -> str:
    token = unsubscribe_token(account_id=account_id, address=address)
    return _absolute(reverse("public:unsubscribe", kwargs={"token": token}))


def unsubscribe_token_read(token: str) -> UnsubscribeClaim:
    """The claim of a token we signed, however old (no max_age: the links never expire)."""
    try:
        payload = signing.loads(token, salt=SALT)
        # A valid token is "payload:timestamp:signature" (TimestampSigner).
        issued_at = datetime.fromtimestamp(signing.b62_decode(token.rsplit(":", 2)[1]), tz=UTC)
    except (signing.BadSignature, ValueError, OverflowError) as exc:
        raise InvalidLink("the link is damaged or was not issued by us") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("a"), int):
        raise InvalidLink("the link is damaged or was not issued by us")
    address = payload.get("e")
    if not isinstance(address, str) or "@" not in address:
        raise InvalidLink("the link is damaged or was not issued by us")
    return UnsubscribeClaim(account_id=payload["a"], address=address, issued_at=issued_at)


def optin_confirmation_url(*, confirmation_id: int) -> str:
    """The link a double opt-in mail carries. How long it is honoured is the confirmation's
    own rule (compliance), judged from when the sign-up was posted."""
    token = signing.dumps({"c": confirmation_id}, salt=CONFIRMATION_SALT)
    return _absolute(reverse("public:optin_confirm", kwargs={"token": token}))


def optin_confirmation_token_read(token: str) -> int:
    """The confirmation id a token we signed names."""
    try:
        payload = signing.loads(token, salt=CONFIRMATION_SALT)
    except (signing.BadSignature, ValueError) as exc:
        raise InvalidLink("the link is damaged or was not issued by us") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("c"), int):
        raise InvalidLink("the link is damaged or was not issued by us")
    return payload["c"]
