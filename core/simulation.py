"""A dry run of the system's own code inside a transaction that is rolled back (the forecast,
workflows.forecast): while one is open in this context, mail is kept in the simulation's
outbox instead of going to the mail server, and the payment gateway is the simulation's
(billing.gateway.get_gateway), and the purge counts the content it would delete instead of
deleting it (accounts.services.purge.content_delete_batch: a big sender's forecast would
otherwise delete millions of rows for the rollback to bring back). Nothing else changes: the
services write their rows as in a real run, and the rollback takes them back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.core.mail import EmailMessage

# The simulation's outbox while one runs in this context; None outside one.
_outbox: ContextVar[list[EmailMessage] | None] = ContextVar("simulation_outbox", default=None)


def simulating() -> bool:
    return _outbox.get() is not None


@contextmanager
def simulation() -> Iterator[list[EmailMessage]]:
    """Within the block, mail_send keeps messages in the returned outbox."""
    outbox: list[EmailMessage] = []
    token = _outbox.set(outbox)
    try:
        yield outbox
    finally:
        _outbox.reset(token)


def mail_send(message: EmailMessage) -> None:
    """Send `message` (raising on the server's refusal), or, within a simulation, keep it in
    the simulation's outbox as if the server had accepted it."""
    outbox = _outbox.get()
    if outbox is not None:
        outbox.append(message)
        return
    message.send(fail_silently=False)
