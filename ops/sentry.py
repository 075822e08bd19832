"""Error reporting to Sentry, only when SENTRY_DSN is set: nothing is initialised, patched or
sent without it.

- Django and Celery integrations: unhandled errors of requests and tasks, and ERROR log lines.
- A cron monitor per scheduled job (ops.monitors).
- Personal data never leaves: no cookies, users or IP addresses (Sentry's default), no
  request bodies, and every string of an event has email addresses and card tokens replaced
  (local variables, log messages, SQL of breadcrumbs included).
"""

from __future__ import annotations

import re
from typing import Any

import sentry_sdk
from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
# Payment gateways' card tokens: tok_… (the test gateway's and Stripe's), and Stripe's card,
# payment-method and source ids (24 letters and digits; card_retry_now stays readable).
CARD_TOKEN = re.compile(r"\btok_[A-Za-z0-9_]+|\b(?:card|pm|src)_[A-Za-z0-9]{14,}\b")
EMAIL_MARK = "[email]"
TOKEN_MARK = "[card token]"
# Keys whose values are dropped whatever they hold (besides Sentry's own list).
DENYLIST = [
    *DEFAULT_DENYLIST,
    "gateway_token",
    "card_token",
    "email",
    "primary_email",
    "address",
    "addresses",
    "normalised",
    "recipient",
]


def scrub_text(text: str) -> str:
    return CARD_TOKEN.sub(TOKEN_MARK, EMAIL.sub(EMAIL_MARK, text))


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {key: _scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    return value


def before_send(event: dict, hint: dict) -> dict:
    """Every string of the event (already serialised) without addresses or card tokens."""
    return _scrub(event)


def init_sentry(*, dsn: str, environment: str, release: str = "", transport=None) -> None:
    """Start reporting to `dsn`. `transport` replaces the network (tests capture with it)."""
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        integrations=[DjangoIntegration(), CeleryIntegration(monitor_beat_tasks=False)],
        max_request_body_size="never",
        event_scrubber=EventScrubber(denylist=list(DENYLIST), recursive=True),
        before_send=before_send,
        transport=transport,
    )
