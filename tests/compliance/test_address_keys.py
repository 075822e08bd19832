"""The bulk check normalises 10,000 addresses a call through a one-match shortcut for plain
ASCII addresses: it gives exactly the key (or the refusal) of the full rules."""

from __future__ import annotations

import re

import pytest

from compliance import addresses
from compliance.addresses import InvalidAddress, hashed_key, match_keys, normalise_address

SAMPLES = [
    "Person@Example.com",
    "  first.last+tag@sub.Example.CO.uk ",
    "o'brien@example.ie",
    "a@b.co",
    "x" * 64 + "@example.com",
    "x" * 65 + "@example.com",
    "a@" + ".".join(["l" * 63] * 4) + ".com",
    "a@-bad.example",
    "a@bad-.example",
    "a@example",
    "a@@example.com",
    "a b@example.com",
    'quo"te@example.com',
    "a@exa_mple.com",
    "anna@bücher.example",
    "ANNA@XN--BCHER-KVA.EXAMPLE",
    "no-at-sign",
    "",
    "a;b@example.com",
    "tab\t@example.com",
]


def _key(address):
    try:
        return normalise_address(address)
    except InvalidAddress as exc:
        return ("refused", str(exc))


@pytest.mark.parametrize("address", SAMPLES)
def test_the_shortcut_gives_the_key_of_the_full_rules(address, monkeypatch):
    fast = _key(address)
    monkeypatch.setattr(addresses, "_PLAIN", re.compile(r"(?!)"))  # never matches

    assert _key(address) == fast


def test_an_erased_key_is_the_sha256_of_the_key_and_never_an_address():
    key = normalise_address("Person@Example.com")

    assert match_keys(key) == (key, hashed_key(key))
    assert hashed_key(key).startswith("sha256:") and "@" not in hashed_key(key)
