"""The dashboard renders with its charts in a real browser."""

import pytest

from accounts.models import AccountStatus
from tests.factories import AccountFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_dashboard_renders_its_charts_and_links_to_the_list(
    page, live_server, log_in, django_user_model
):
    django_user_model.objects.create_superuser("ops", "ops@example.com", "pw-ops-e2e")
    AccountFactory.create_batch(4, status=AccountStatus.ACTIVE)
    AccountFactory.create_batch(2, status=AccountStatus.SUSPENDED)

    log_in(page, "ops", "pw-ops-e2e")
    page.goto(f"{live_server.url}/admin/")

    assert page.locator("#dashboard svg.bo-chart").count() >= 2
    page.locator("#dashboard a:has(title:text('Suspended: 2')) rect").first.click()
    page.wait_for_url("**/admin/accounts/account/?status__exact=suspended")
    assert page.locator("#result_list tbody tr").count() == 2
