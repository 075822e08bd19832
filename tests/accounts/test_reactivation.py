"""R7: reactivation within the retention window, counted on the account's local calendar,
restores everything; after more than RETENTION_DAYS days it is refused."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

import pytest

from accounts.models import AccountStatus, HostedFile, Integration
from accounts.services import LifecycleError
from tests.accounts.factories import HostedFileFactory, IntegrationFactory
from tests.factories import AccountFactory
from workflows.reactivation import account_reactivate

pytestmark = pytest.mark.django_db
S = AccountStatus
TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")


def test_day_120_on_the_local_calendar_still_reactivates_day_121_does_not_R7(agent, settings):
    settings.RETENTION_DAYS = 120
    # cancelled at 23:30 local: the next local day (30 minutes later) is day 1
    since = datetime(2026, 1, 10, 23, 30, tzinfo=TOKYO)
    last_day = datetime(2026, 5, 10, 23, 59, tzinfo=TOKYO)  # 10 Jan + 120 days
    assert (last_day.date() - since.date()).days == 120
    kept = AccountFactory(status=S.CANCELLED, time_zone="Asia/Tokyo", inactive_since=since)
    late = AccountFactory(status=S.CANCELLED, time_zone="Asia/Tokyo", inactive_since=since)

    account_reactivate(account=kept, by=agent, now=last_day, reason="Customer came back")

    with pytest.raises(LifecycleError, match=r"121 days ago.*\(R7\)"):
        account_reactivate(
            account=late, by=agent, now=last_day + timedelta(minutes=1), reason="Too late"
        )
    kept.refresh_from_db()
    late.refresh_from_db()
    assert (kept.status, kept.inactive_since) == (S.ACTIVE, None)
    assert late.status == S.CANCELLED


def test_reactivation_restores_files_and_the_integrations_cancelling_disconnected_R7(agent, now):
    cancelled_at = now - timedelta(days=10)
    account = AccountFactory(status=S.CANCELLED, inactive_since=cancelled_at)
    HostedFileFactory(account=account, online=False)
    by_cancel = IntegrationFactory(account=account, connected=False, disconnected_at=cancelled_at)
    before = IntegrationFactory(
        account=account, connected=False, disconnected_at=cancelled_at - timedelta(days=30)
    )

    account_reactivate(account=account, by=agent, now=now, reason="Customer came back")

    assert HostedFile.objects.get(account=account).online
    assert Integration.objects.get(pk=by_cancel.pk).connected
    assert not Integration.objects.get(pk=before.pk).connected
