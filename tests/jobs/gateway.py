"""A test gateway that worker processes share a record of: each charge call appends its
idempotency key to the file RECORDING_GATEWAY_FILE, after RECORDING_GATEWAY_DELAY seconds (a
real gateway's round trip, so a test can stop a worker in the middle of a batch)."""

from __future__ import annotations

import os
import time
from decimal import Decimal

from billing.gateway import ChargeResult, TestGateway


class RecordingGateway(TestGateway):
    def charge(
        self, *, token: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> ChargeResult:
        delay = float(os.environ.get("RECORDING_GATEWAY_DELAY") or 0)
        if delay:
            time.sleep(delay)
        result = super().charge(
            token=token, amount=amount, currency=currency, idempotency_key=idempotency_key
        )
        # One write per line in append mode: lines from several processes never interleave.
        with open(os.environ["RECORDING_GATEWAY_FILE"], "a") as record:
            record.write(f"{idempotency_key}\n")
        return result


def charged_keys(path) -> list[str]:
    return path.read_text().split() if path.exists() else []
