"""R1: trials end by themselves at local midnight; the expire_trials job expires them."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest

from accounts import selectors
from accounts.models import AccountEvent, AccountStatus, HostedFile
from tests.accounts.factories import HostedFileFactory
from tests.factories import AccountFactory
from tests.jobrun import job

expire_trials = job("expire_trials")
pytestmark = pytest.mark.django_db
S = AccountStatus
AUCKLAND = zoneinfo.ZoneInfo("Pacific/Auckland")


def test_a_trial_ends_at_local_midnight_after_its_last_local_day_R1(settings):
    settings.TRIAL_LENGTH = timedelta(days=30)
    account = AccountFactory.build(time_zone="Pacific/Auckland")
    # 23:30 UTC on 1 November is already 2 November in Auckland: that is trial day 1
    started = datetime(2026, 11, 1, 23, 30, tzinfo=UTC)

    end = selectors.trial_end_for(account=account, started_at=started)

    assert end == datetime(2026, 12, 2, 0, 0, tzinfo=AUCKLAND)


def test_expire_trials_expires_at_local_midnight_not_before_R1():
    # given a trial in Auckland ending at local midnight starting 2 December (11:00 UTC on 1st)
    end = datetime(2026, 12, 2, 0, 0, tzinfo=AUCKLAND)
    account = AccountFactory(status=S.TRIAL, time_zone="Pacific/Auckland", trial_ends_at=end)
    HostedFileFactory(account=account)

    # when the job runs one minute before, nothing happens
    counts = expire_trials(as_of=end - timedelta(minutes=1), dry_run=False)
    account.refresh_from_db()
    assert (account.status, counts["expired"]) == (S.TRIAL, 0)

    # and at local midnight the trial expires, the customer losing access to hosted files
    counts = expire_trials(as_of=end, dry_run=False)
    account.refresh_from_db()
    assert (account.status, counts["expired"]) == (S.EXPIRED, 1)
    assert account.inactive_since == end
    assert not HostedFile.objects.get(account=account).online
    event = AccountEvent.objects.get(account=account)
    assert (event.by_job, event.from_status, event.to_status) == (
        "expire_trials",
        "trial",
        "expired",
    )
    assert "2026-12-02 00:00 NZDT" in event.reason


def test_expire_trials_twice_expires_once_and_dry_run_changes_nothing_R1(now):
    due = AccountFactory(status=S.TRIAL, trial_ends_at=now - timedelta(hours=1))
    running = AccountFactory(status=S.TRIAL, trial_ends_at=now + timedelta(hours=1))
    paid = AccountFactory(status=S.ACTIVE, trial_ends_at=now - timedelta(days=3))

    assert expire_trials(as_of=now, dry_run=True) == {"would_expire": 1}
    due.refresh_from_db()
    assert due.status == S.TRIAL

    expire_trials(as_of=now, dry_run=False)
    expire_trials(as_of=now, dry_run=False)

    for account, status in ((due, S.EXPIRED), (running, S.TRIAL), (paid, S.ACTIVE)):
        account.refresh_from_db()
        assert account.status == status
    assert AccountEvent.objects.filter(account=due).count() == 1
