"""A real SMTP server for the tests (aiosmtpd), started by the test, that can refuse the first
messages it is given and be slow, to exercise retries and concurrent senders."""

from __future__ import annotations

import threading
import time
from email import message_from_bytes
from email.message import Message

from aiosmtpd.controller import Controller

from tests.processes import free_port


class Recorder:
    """An SMTP handler that keeps every accepted message."""

    def __init__(self, *, refuse_first: int = 0, delay: float = 0.0) -> None:
        self.refuse_left = refuse_first
        self.delay = delay
        self.refused = 0
        self.messages: list[Message] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 — aiosmtpd's hook name
        if self.delay:
            time.sleep(self.delay)  # holds the conversation open, as a slow server does
        with self._lock:
            if self.refuse_left > 0:
                self.refuse_left -= 1
                self.refused += 1
                return "451 4.3.0 Try again later"
            self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


class SMTPServer:
    def __init__(self, handler: Recorder) -> None:
        self.handler = handler
        self.port = free_port()
        self.controller = Controller(handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SMTPServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()
