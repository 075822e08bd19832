import pytest

from core.actors import Actor


@pytest.fixture
def agent(make_role_user) -> Actor:
    """In billing's tests the staff member at work is a billing clerk: the money services
    refuse anyone without the Billing role's permissions."""
    return Actor.staff(make_role_user("Billing", "billing.clerk"))
