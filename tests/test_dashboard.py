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


def test_cancellation_figures_split_reasons_voluntary_and_overdue_confirmations_R4_R8(
    admin_client,
):
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import CancellationOutcome
    from tests.accounts.factories import CancellationReasonFactory, CancellationRequestFactory

    now = timezone.now()
    price = CancellationReasonFactory(name="Too expensive")
    CancellationRequestFactory.create_batch(
        2, reason=price, at=now - timedelta(hours=30), pause_offered=True
    )
    CancellationRequestFactory(
        reason=price,
        at=now - timedelta(hours=2),
        outcome=CancellationOutcome.SAVED_BY_PAUSE,
        pause_offered=True,
        pause_accepted=True,
        account__status="paused",
    )
    CancellationRequestFactory(
        voluntary=False,
        at=now - timedelta(days=3),
        confirmation_sent_at=now - timedelta(days=3) + timedelta(hours=1),
    )

    page = admin_client.get("/admin/").content.decode()

    assert "<title>Too expensive: 2</title>" in page
    assert "<title>All voluntary (agent): 2</title>" in page
    assert "<title>All involuntary (system): 1</title>" in page
    assert "Pause offer save rate: 33%" in page
    assert "<title>Overdue now: 2</title>" in page
    assert "<title>Sent within 24 hours: 1</title>" in page


def test_unsent_confirmation_bars_match_the_lists_they_link_to_R4(admin_client):
    from datetime import timedelta

    from django.utils import timezone

    from tests.accounts.factories import CancellationRequestFactory

    now = timezone.now()
    CancellationRequestFactory(at=now - timedelta(days=200))  # overdue for months
    CancellationRequestFactory(at=now - timedelta(hours=2))  # still within 24 hours

    page = admin_client.get("/admin/").content.decode()
    overdue = admin_client.get("/admin/accounts/cancellationrequest/?confirmation=overdue")
    pending = admin_client.get("/admin/accounts/cancellationrequest/?confirmation=pending")

    assert "<title>Overdue now: 1</title>" in page
    assert "<title>Not yet due: 1</title>" in page
    assert overdue.context["cl"].result_count == 1
    assert pending.context["cl"].result_count == 1


def test_a_job_whose_schedule_passed_with_no_run_shows_as_late(admin_client, settings):
    from datetime import timedelta

    from django.utils import timezone
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    from jobs.models import JobRun

    settings.JOB_LATE_AFTER = 600
    every_hour, _ = CrontabSchedule.objects.get_or_create(
        minute="20", hour="*", day_of_week="*", day_of_month="*", month_of_year="*"
    )
    PeriodicTask.objects.filter(name="suspend_unpaid").update(crontab=every_hour)
    now = timezone.now()
    for job, hours in (("suspend_unpaid", 5), ("expire_trials", 0)):
        JobRun.objects.create(
            job=job,
            as_of=now - timedelta(hours=hours),
            trigger="schedule",
            started_at=now - timedelta(hours=hours),
            outcome="succeeded",
        )

    page = admin_client.get("/admin/").content.decode()

    row = page[page.index("suspend_unpaid") :][:400]
    assert "LATE: due" in row and ":20 UTC, no run since" in row
    fresh = page[page.index("expire_trials") :][:300]
    assert "LATE" not in fresh


def test_coming_up_counts_what_its_lists_hold_on_each_accounts_calendar_in_one_pass_R7_R11():
    """The "coming up" figure (cancelled for non-payment within 7 / 30 days, R11; purged
    within 7 / 30 days, R7) counts what the lists it links to hold, across zones and a DST
    change, and reads each set's zones once: two windows, four queries (there were eight)."""
    from datetime import UTC, datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from accounts.selectors import accounts_due_for_purge, due_for_purge_counts, retention_days
    from backoffice.dashboard import coming_up
    from billing import selectors as billing
    from tests.billing.factories import BillingProfileFactory

    as_of = datetime(2026, 11, 1, 12, 30, tzinfo=UTC)  # New York's autumn change that day
    zones = ("America/New_York", "Europe/Berlin", "Pacific/Kiritimati", "Pacific/Pago_Pago")

    def local(zone: str, days_before: int, clock: time) -> datetime:
        tz = ZoneInfo(zone)
        day = as_of.astimezone(tz).date() - timedelta(days=days_before)
        return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)

    offset = billing.unpaid_cancel_offset().days
    kept = retention_days()
    for zone in zones:
        for clock in (time(0, 0), time(23, 59)):
            for days in (offset - 31, offset - 30, offset - 8, offset - 7, offset, offset + 1):
                at = local(zone, days, clock)
                account = AccountFactory(status=AccountStatus.SUSPENDED, time_zone=zone)
                BillingProfileFactory(account=account, unpaid_since=at, suspended_at=at)
            for days in (kept - 30, kept - 29, kept - 7, kept - 6, kept, kept + 1):
                AccountFactory(
                    status=AccountStatus.CANCELLED,
                    time_zone=zone,
                    inactive_since=local(zone, days, clock),
                )

    windows = (7, 30)
    moments = [as_of + timedelta(days=days) for days in windows]
    cancelling = billing.cancelling_within_counts(as_of=as_of, days=windows)
    assert cancelling == {
        days: billing.profiles_cancelling_within(as_of=as_of, days=days).count() for days in windows
    }
    purged = due_for_purge_counts(moments=moments)
    assert purged == [accounts_due_for_purge(as_of=moment).count() for moment in moments]
    # Each window takes some of the edge days and leaves others.
    assert 0 < cancelling[7] < cancelling[30] < 6 * 2 * len(zones)
    assert 0 < purged[0] < purged[1] < 6 * 2 * len(zones)

    with CaptureQueriesContext(connection) as captured:
        coming_up(now=as_of)
    assert len(captured.captured_queries) == 5


# The admin index as a superuser: the session and the staff member, one query per figure (the
# cancellation requests counted once for three), the zones of the suspended and of the inactive
# accounts, the jobs' schedules each with its own schedule row in one query, the jobs' last
# runs, and the admin's recent actions. It was 38 here (40 on the 1,000,000-account data set):
# each job's crontab read on its own, twice, and the year's requests read three times.
DASHBOARD_QUERIES = 15


def test_dashboard_reads_a_bounded_number_of_queries_R4_R7_R8_R11(
    admin_client, django_assert_max_num_queries
):
    from django.utils import timezone

    from jobs.models import JobRun
    from jobs.registry import JOBS
    from tests.accounts.factories import CancellationRequestFactory

    now = timezone.now()
    AccountFactory.create_batch(3, status=AccountStatus.CANCELLED, inactive_since=now)
    CancellationRequestFactory.create_batch(3, at=now, pause_offered=True)
    for job in JOBS:
        JobRun.objects.create(
            job=job, as_of=now, trigger="schedule", started_at=now, outcome="succeeded"
        )
    admin_client.get("/admin/")  # what the first page of a session reads once

    with django_assert_max_num_queries(DASHBOARD_QUERIES):
        page = admin_client.get("/admin/")

    assert page.status_code == 200
    assert "<title>All voluntary (agent): 3</title>" in page.content.decode()
