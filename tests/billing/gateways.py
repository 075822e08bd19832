"""Test gateways for billing's tests, configured through settings.PAYMENT_GATEWAY (the fixtures
below also clear billing.gateway.configured_gateway's per-process instance around each test).

- SlowGateway takes seconds per charge, as a real gateway's slow round trip: each call says
  it started, then waits until the test lets it finish (or SECONDS pass).
- CrashAfterChargeGateway charges, then the process "dies" before our record: it raises
  ProcessKilled after the gateway has taken the money.
Both remember each idempotency key they were asked and the reference they answered."""

from __future__ import annotations

import threading
from decimal import Decimal

from billing.gateway import ChargeResult, TestGateway, configured_gateway


class ProcessKilled(BaseException):
    """The process stopped right after the gateway answered (a SIGKILL, an out-of-memory kill):
    a BaseException, so no `except Exception` on the way stops it."""


class RememberingGateway(TestGateway):
    # (idempotency key, reference or decline code) of every charge call, in order.
    calls: list[tuple[str, str]] = []

    def charge(
        self, *, token: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> ChargeResult:
        result = super().charge(
            token=token, amount=amount, currency=currency, idempotency_key=idempotency_key
        )
        type(self).calls.append((idempotency_key, result.reference or result.decline_code))
        return result


class SlowGateway(RememberingGateway):
    SECONDS = 5.0
    calls: list[tuple[str, str]] = []
    started = threading.Event()  # a charge call is at the gateway
    finish = threading.Event()  # the test lets the calls finish
    finished = threading.Event()  # a charge call came back

    def charge(
        self, *, token: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> ChargeResult:
        type(self).started.set()
        type(self).finish.wait(self.SECONDS)
        try:
            return super().charge(
                token=token, amount=amount, currency=currency, idempotency_key=idempotency_key
            )
        finally:
            type(self).finished.set()

    @classmethod
    def reset(cls) -> None:
        cls.calls = []
        for event in (cls.started, cls.finish, cls.finished):
            event.clear()


class CrashAfterChargeGateway(RememberingGateway):
    calls: list[tuple[str, str]] = []

    def charge(
        self, *, token: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> ChargeResult:
        super().charge(
            token=token, amount=amount, currency=currency, idempotency_key=idempotency_key
        )
        raise ProcessKilled(f"killed after the gateway charged {idempotency_key}")


def use_gateway(settings, gateway: type[TestGateway]) -> None:
    """Make `gateway` the configured one (a fresh instance on the next get_gateway())."""
    settings.PAYMENT_GATEWAY = f"{gateway.__module__}.{gateway.__qualname__}"
    configured_gateway.cache_clear()
