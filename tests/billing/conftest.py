import pytest

from billing.gateway import configured_gateway
from core.actors import Actor
from tests.billing.gateways import (
    CrashAfterChargeGateway,
    RememberingGateway,
    SlowGateway,
    use_gateway,
)


@pytest.fixture
def agent(make_role_user) -> Actor:
    """In billing's tests the staff member at work is a billing clerk: the money services
    refuse anyone without the Billing role's permissions."""
    return Actor.staff(make_role_user("Billing", "billing.clerk"))


@pytest.fixture
def gateways(settings):
    """Switch the configured gateway with `gateways(Class)` (tests/billing/gateways.py); the
    default one is back after the test."""
    RememberingGateway.calls = []
    CrashAfterChargeGateway.calls = []
    SlowGateway.reset()
    yield lambda gateway: use_gateway(settings, gateway)
    SlowGateway.finish.set()
    configured_gateway.cache_clear()
