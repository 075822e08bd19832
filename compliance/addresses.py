"""Email addresses as suppression keys: validation and normalisation (SPEC "One address, one
key"). Trimmed, lower-cased, domain in its ASCII (IDNA) form; dots and +tags are never
stripped, each address is its own recipient."""

from __future__ import annotations

import hashlib
import re

from django.utils.translation import gettext_noop

from core.problems import Problem


class InvalidAddress(ValueError):
    """Not an email address; the message (a Problem, translated when shown) says why."""


EMPTY = gettext_noop("empty")


# Local part: anything printable except what needs quoting; quoted local parts are not taken
# (no provider exports them, and they hide glued or broken cells).
_LOCAL = re.compile(r"[^\s@\\\"(),:;<>\[\]\x00-\x1f\x7f]{1,64}\Z")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})+\Z")
_SEPARATORS = re.compile(r"[\s,;]+")


# The common case in one match: an ASCII address, lower-cased, whose parts pass the checks
# below. The bulk check reads 10,000 addresses a call; anything else takes the long way.
_PLAIN = re.compile(rf"[^\s@\\\"(),:;<>\[\]\x00-\x1f\x7f]{{1,64}}@({_LABEL}(?:\.{_LABEL})+)\Z")


def _is_text(value: str) -> bool:
    """Whether `value` can be stored: a lone surrogate (from JSON's "\\ud800") cannot."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def normalise_address(address: str) -> str:
    """The match key of `address`, or InvalidAddress saying what is wrong with it."""
    value = address.strip()
    if value.isascii():
        key = value.lower()
        plain = _PLAIN.match(key)
        if plain is not None and len(plain.group(1)) <= 253:
            return key
    if not value:
        raise InvalidAddress(Problem(EMPTY))
    if not _is_text(value):
        raise InvalidAddress(
            Problem(
                gettext_noop("not an address (not text): %(address)s"), address=repr(value[:80])
            )
        )
    ats = value.count("@")
    if ats == 0:
        raise InvalidAddress(
            Problem(gettext_noop("not an address (no @): %(address)s"), address=repr(value[:80]))
        )
    if ats > 1:
        # "a@x.com;b@y.org", "a@x.comb@y.org": each @ between two non-empty parts.
        pieces = [p for p in _SEPARATORS.split(value) if p]
        glued = "@@" not in value and value[0] != "@" and value[-1] != "@"
        kind = Problem(
            gettext_noop("two addresses glued together")
            if glued or len(pieces) > 1
            else gettext_noop("not an address")
        )
        raise InvalidAddress(
            Problem(gettext_noop("%(kind)s: %(address)s"), kind=kind, address=repr(value[:80]))
        )
    local, _at, domain = value.partition("@")
    if not local or not _LOCAL.match(local):
        raise InvalidAddress(
            Problem(
                gettext_noop("not an address (bad part before @): %(address)s"),
                address=repr(value[:80]),
            )
        )
    if domain.isascii():
        ascii_domain = domain.lower()
    else:
        try:
            ascii_domain = domain.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise InvalidAddress(
                Problem(
                    gettext_noop("not an address (invalid domain): %(address)s"),
                    address=repr(value[:80]),
                )
            ) from None
    if len(ascii_domain) > 253 or not _DOMAIN.match(ascii_domain):
        raise InvalidAddress(
            Problem(
                gettext_noop("not an address (invalid domain): %(address)s"),
                address=repr(value[:80]),
            )
        )
    return f"{local.lower()}@{ascii_domain}"


def address_key(address: str) -> str:
    """The match key of an address that reached us through a door we cannot send back: a
    contact we mailed whose signed unsubscribe link comes back, a sign-up Django's email
    validator accepted. It is ``normalise_address`` wherever that takes the address; where it
    refuses one Django accepts (a domain literal such as ``a@[127.0.0.1]``, a local part over
    64 characters), the key is the address trimmed and lower-cased, as normalising would have
    made it, so the unsubscribe is recorded and later matches the same address again. Such a
    key is one the normaliser refuses, so it never equals the key of an address it takes.
    Imports and staff entries keep the normaliser's refusal."""
    try:
        return normalise_address(address)
    except InvalidAddress:
        value = address.strip()
        local, at, domain = value.rpartition("@")
        if not at or not local or not domain or any(c in value for c in "\x00\r\n"):
            raise
        if not _is_text(value):
            raise
    key = value.lower()
    try:
        return normalise_address(key)
    except InvalidAddress:
        return key


# --- Erased addresses: kept only as hashes (SPEC "Erasure requests") ---------------------------
#
# An erasure request (GDPR Art. 17) redacts every suppression of an address to the hashes of
# its match key: `normalised` becomes "sha256:<hex>" and `address` "md5:<hex>", the two forms
# other providers match on. A normalised address always holds an "@", a hashed one never: the
# two cannot be mistaken for each other.

SHA256_PREFIX = "sha256:"
MD5_PREFIX = "md5:"


def sha256_hex(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def md5_hex(key: str) -> str:
    return hashlib.md5(key.encode("utf-8")).hexdigest()


def hashed_key(key: str) -> str:
    """The match key an erased address keeps: "sha256:" and the SHA-256 of its key."""
    return SHA256_PREFIX + sha256_hex(key)


def is_hashed(normalised: str) -> bool:
    return normalised.startswith(SHA256_PREFIX)


def prefix_range(prefix: str) -> tuple[str, str]:
    """The range of an index's keys that start with `prefix`: from the prefix up to the prefix
    with its last character raised by one ("sha256:" up to "sha256;")."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


# The range of the keys that hold erased addresses: "sha256:" up to "sha256;".
ERASED_FROM, ERASED_TO = prefix_range(SHA256_PREFIX)


def match_keys(key: str) -> tuple[str, str]:
    """The keys a suppression of the address `key` may carry: in clear, or erased."""
    return key, hashed_key(key)
