"""R11's days unpaid, in the bands staff filter the billing profiles by and the scrape counts:
each account's own calendar decides (SPEC "Time"), across zones and a DST change; the
suspended accounts' zones are read once a scrape; a page of a band is read by its keys."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AccountStatus
from billing import selectors
from ops import gauges
from tests.billing.factories import BillingProfileFactory
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

# Sunday 1 November 2026, 12:30 UTC: New York left summer time at 06:00 UTC that morning,
# Berlin a week before; Kiritimati (UTC+14) is on Monday 2 November already, Pago Pago
# (UTC-11) on Sunday 1 November since 11:00 UTC.
AS_OF = datetime(2026, 11, 1, 12, 30, tzinfo=UTC)
ZONES = ("America/New_York", "Europe/Berlin", "Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC")
# The days either side of each band's edges (day 0 is the suspension's own local day).
EDGE_DAYS = (0, 1, 30, 31, 60, 61, 90, 91, 120)


def suspended(zone: str, at: datetime, *, status=AccountStatus.SUSPENDED):
    account = AccountFactory(status=status, time_zone=zone)
    return BillingProfileFactory(account=account, unpaid_since=at, suspended_at=at)


def local(zone: str, day_offset: int, clock: time) -> datetime:
    """The moment `clock` on the local day `day_offset` days before AS_OF's local day."""
    tz = ZoneInfo(zone)
    day = AS_OF.astimezone(tz).date() - timedelta(days=day_offset)
    return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)


def band_of(days: int) -> str:
    for band, (low, high) in selectors.UNPAID_DAY_BANDS.items():
        if days >= low and (high is None or days <= high):
            return band
    raise AssertionError(days)


@pytest.fixture
def suspensions():
    """Suspensions at the first and the last minute of each edge day in every zone, and the
    band each falls in by the "days unpaid" column's own count (``selectors.days_unpaid``)."""
    expected: dict[str, set[int]] = {band: set() for band in selectors.UNPAID_DAY_BANDS}
    for zone in ZONES:
        for days in EDGE_DAYS:
            for clock in (time(0, 0), time(23, 59)):
                profile = suspended(zone, local(zone, days, clock))
                assert selectors.days_unpaid(profile=profile, as_of=AS_OF) == days
                expected[band_of(days)].add(profile.pk)
    # Paid since (the account is active again) or suspended without a suspension recorded:
    # in no band.
    suspended("UTC", AS_OF - timedelta(days=10), status=AccountStatus.ACTIVE)
    BillingProfileFactory(account=AccountFactory(status=AccountStatus.SUSPENDED))
    return expected


def test_each_band_takes_the_days_unpaid_of_the_accounts_own_calendar_across_dst_R11(
    suspensions,
):
    # Named cases: in New York the 30th local day back began at 00:00 EDT (04:00 UTC), and
    # the scrape's count and the list agree with the column for every edge.
    ny_day_30 = suspended("America/New_York", datetime(2026, 10, 2, 4, 0, tzinfo=UTC))
    ny_day_31 = suspended("America/New_York", datetime(2026, 10, 2, 3, 59, tzinfo=UTC))
    # In Kiritimati it is 2 November: 3 October began at 10:00 UTC on 2 October.
    kiritimati_day_30 = suspended("Pacific/Kiritimati", datetime(2026, 10, 2, 10, 0, tzinfo=UTC))
    suspensions["0-30"] |= {ny_day_30.pk, kiritimati_day_30.pk}
    suspensions["31-60"].add(ny_day_31.pk)

    for band, (low, high) in selectors.UNPAID_DAY_BANDS.items():
        found = selectors.profiles_suspended_for_days(as_of=AS_OF, low=low, high=high)
        assert set(found.values_list("pk", flat=True)) == suspensions[band], band
    assert selectors.suspended_unpaid_count_by_band(as_of=AS_OF) == {
        band: len(pks) for band, pks in suspensions.items()
    }


def test_the_days_unpaid_filter_lists_the_band_page_by_page_by_its_keys_R11(
    suspensions, make_role_user, client, monkeypatch
):
    """The filtered list shows the band's profiles, newest first, a page at a time; the rows
    themselves are read by the page's keys (a band of thousands is not read whole, with every
    account, to show a page of it)."""
    from billing.admin.profiles import BillingProfileAdmin

    monkeypatch.setattr(BillingProfileAdmin, "list_per_page", 5)
    url = reverse("admin:billing_billingprofile_changelist")
    with time_machine.travel(AS_OF, tick=False):
        client.force_login(make_role_user("Support"))
        for band in selectors.UNPAID_DAY_BANDS:
            newest_first = sorted(suspensions[band], reverse=True)
            for number in (1, 2):
                with CaptureQueriesContext(connection) as captured:
                    page = client.get(url, {"days_unpaid": band, "p": number})
                listed = [profile.pk for profile in page.context["cl"].result_list]
                assert listed == newest_first[(number - 1) * 5 : number * 5], band
                rows = [
                    q["sql"]
                    for q in captured.captured_queries
                    if q["sql"].startswith('SELECT "billing_billingprofile"."id", ')
                ]
                assert len(rows) == 1 and "LIMIT" not in rows[0], band


def test_the_scrape_reads_the_suspended_accounts_zones_once_for_every_band_R11(suspensions):
    with CaptureQueriesContext(connection) as captured:
        (family,) = gauges.suspended_unpaid(now=AS_OF)

    zone_reads = [q for q in captured.captured_queries if "DISTINCT" in q["sql"]]
    assert len(zone_reads) == 1
    assert len(captured.captured_queries) == 2
    assert {s.labels["days"]: s.value for s in family.samples} == {
        band: len(pks) for band, pks in suspensions.items()
    }


def test_no_suspended_account_no_band_and_one_query(client):
    AccountFactory(status=AccountStatus.ACTIVE, time_zone="Europe/Berlin")

    with CaptureQueriesContext(connection) as captured:
        counts = selectors.suspended_unpaid_count_by_band(as_of=AS_OF)

    assert counts == dict.fromkeys(selectors.UNPAID_DAY_BANDS, 0)
    assert len(captured.captured_queries) == 1
