"""The dashboard on the admin index: aggregate figures drawn as SVG, each linking to its list."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AccountStatus
from backoffice.models import StateSnapshot
from backoffice.services import state_snapshot_take
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def test_dashboard_shows_accounts_by_state_with_links_to_the_filtered_list(admin_client):
    AccountFactory.create_batch(3, status=AccountStatus.ACTIVE)
    AccountFactory.create_batch(2, status=AccountStatus.SUSPENDED)

    page = admin_client.get("/admin/").content.decode()

    assert "<svg" in page
    assert "<title>Active: 3</title>" in page
    assert "<title>Suspended: 2</title>" in page
    assert "/admin/accounts/account/?status__exact=suspended" in page


def test_dashboard_query_count_does_not_grow_with_accounts(admin_client):
    AccountFactory.create_batch(2)
    with CaptureQueriesContext(connection) as few:
        admin_client.get("/admin/")
    AccountFactory.create_batch(40, status=AccountStatus.CANCELLED)
    with CaptureQueriesContext(connection) as many:
        admin_client.get("/admin/")

    assert len(many) == len(few)


def test_snapshot_job_keeps_one_figure_per_month_and_state(now):
    AccountFactory.create_batch(2, status=AccountStatus.PAUSED)
    state_snapshot_take(now=now)
    AccountFactory(status=AccountStatus.PAUSED)

    state_snapshot_take(now=now)

    paused = StateSnapshot.objects.get(month=date(2026, 11, 1), status="paused")
    assert paused.accounts == 3
    assert StateSnapshot.objects.filter(month=date(2026, 11, 1)).count() == len(AccountStatus)
