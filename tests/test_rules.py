"""Each rule has one definition, and every consumer of the rule answers through it: one test
per rule walks every consumer across the rule's boundary (the moment an answer flips), so a
second copy of a rule that drifts from the first fails here.

- R3, the billing cut-off (billing.selectors.billing_date_cutoff): the desk's "in time", the
  account page, the billing run's charge, the confirmation email;
- R7, the purge day (accounts.selectors.accounts_past_retention): the purge job, the purge's
  re-check under lock, the reactivation's refusal, the retention list, the dashboard, the
  purge day shown;
- R9, suppressed at a moment (compliance.selectors.in_force_sql): the check, recording an
  unsubscribe once, the hand-over export (plain and hashed, inside COPY), the import's
  preview and merge, the staff's "in force" filter;
- R11, the cancellation day of an unpaid account (billing.selectors.unpaid_cancel_day): the
  cancel_unpaid job, the "cancelled on" column, the suspension notice, the "cancels within 7
  days" filter and the dashboard.
"""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from accounts.models import Account, AccountStatus, CancellationRequest
from accounts.selectors import accounts_due_for_purge, purge_day
from accounts.services import LifecycleError, account_legal_hold_set
from accounts.services.confirmations import confirmation_message
from backoffice.dashboard import coming_up
from billing import selectors as billing_selectors
from billing.models import EntryKind, LedgerEntry
from billing.services import suspension_notice
from compliance.models import Suppression
from compliance.selectors import is_suppressed, suppressions_in_force
from compliance.services import (
    optin_record,
    suppression_export,
    suppression_record,
    suppressions_import,
)
from core.actors import Actor
from core.localtime import start_of_day
from tests.accounts.factories import CancellationReasonFactory
from tests.billing.factories import BillingProfileFactory, CardFactory
from tests.compliance.factories import ContactFactory
from tests.factories import AccountFactory
from tests.jobrun import job
from workflows.desk import cancellation_call_take
from workflows.purge import account_purge_step
from workflows.reactivation import account_reactivate

pytestmark = pytest.mark.django_db

S = AccountStatus
JOB = Actor.system("test_rules")


# --- R3 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("minutes_before_cutoff, in_time", [(1, True), (0, False)])
def test_R3_every_consumer_answers_through_the_one_cut_off(
    minutes_before_cutoff, in_time, make_role_user, admin_client
):
    zone = ZoneInfo("America/Los_Angeles")
    billing_date = date(2026, 12, 1)
    cutoff = billing_selectors.billing_date_cutoff(billing_date=billing_date, zone=zone)
    assert cutoff == datetime(2026, 12, 1, tzinfo=zone)  # local midnight, not UTC's
    call_at = cutoff - timedelta(minutes=minutes_before_cutoff)
    account = AccountFactory(status=S.ACTIVE, time_zone=zone.key)
    profile = BillingProfileFactory(account=account, next_billing_date=billing_date)
    CardFactory(account=account)
    assert profile.due_at == cutoff  # the run's due moment is the same cut-off

    # the account page, before the call: the verdict for a call at that moment
    assert billing_selectors.call_is_in_time(account=account, at=call_at) is in_time

    # the desk records the call with the verdict
    agent = Actor.staff(make_role_user("Support"))
    request = cancellation_call_take(
        account=account,
        by=agent,
        now=call_at,
        username_typed=account.username,
        reason=CancellationReasonFactory(),
        callers_words="",
        pause_accepted=False,
    )
    assert (request.next_billing_date, request.in_time) == (billing_date, in_time)

    # the confirmation email promises the date is not charged only when in time
    body = confirmation_message(request=request).body
    assert ("will not be charged" in body) is in_time

    # the billing run charges the date exactly when the call came too late
    job("run_billing")(as_of=cutoff + timedelta(hours=2))
    charged = LedgerEntry.objects.filter(
        account=account, kind=EntryKind.CHARGE, period=billing_date
    ).exists()
    assert charged is not in_time


# --- R7 -------------------------------------------------------------------------------------

CANCELLED_AT = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago", "Europe/Berlin"])
def test_R7_every_consumer_flips_on_the_same_local_day_121(zone, admin_client):
    account = AccountFactory(status=S.CANCELLED, time_zone=zone, inactive_since=CANCELLED_AT)
    ContactFactory(account=account)
    day_121 = purge_day(account)
    first_moment = start_of_day(day_121, ZoneInfo(zone))
    retention_url = reverse("admin:compliance_retentionaccount_changelist")
    for moment, past in ((first_moment - timedelta(seconds=1), False), (first_moment, True)):
        # the purge job's items, and the purge's own re-check under lock
        assert accounts_due_for_purge(as_of=moment).filter(pk=account.pk).exists() is past
        # the dashboard's "purged within 7 days", seen 7 days earlier
        svg = str(coming_up(now=moment - timedelta(days=7)).svg)
        assert f"Purged within 7 days: {int(past)}" in svg
        # the reactivation refuses exactly then (in a rolled-back attempt)
        try:
            account_reactivate(account=account, by=JOB, now=moment, reason="check")
        except LifecycleError as exc:
            assert past, exc
            assert "past the retention window (R7)" in str(exc)
        else:
            assert not past
            Account.objects.filter(pk=account.pk).update(
                status=S.CANCELLED, inactive_since=CANCELLED_AT
            )
            account.refresh_from_db()
    # the retention list's "purge within 7 days" shows it from 7 days before
    html = admin_client.get(retention_url, {"purge": "7d"}).content.decode()
    assert account.username in html
    # the purge step re-checks under lock: a legal hold set meanwhile stops it (R7)
    account_legal_hold_set(account=account, reason="case", by=_compliance(), now=first_moment)
    assert account_purge_step(account_id=account.pk, by=JOB, now=first_moment, run="r").state == (
        "skipped"
    )
    # and the purge job purges exactly from day 121, when nothing holds it
    Account.objects.filter(pk=account.pk).update(legal_hold=False, legal_hold_reason="")
    assert job("purge_inactive")(as_of=first_moment - timedelta(seconds=1))["accounts_purged"] == 0
    assert job("purge_inactive")(as_of=first_moment)["accounts_purged"] == 1


def _compliance(username: str = "compliance.rules"):
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user(username, is_staff=True)
    user.groups.add(Group.objects.get(name="Compliance"))
    return Actor.staff(user)


# --- R9 -------------------------------------------------------------------------------------


def _export(account, fmt: str, at: datetime) -> str:
    compliance = _compliance_exporter()
    return b"".join(
        suppression_export(account=account, purpose="hand-over", fmt=fmt, by=compliance, now=at)
    ).decode()


_EXPORTER: dict = {}


def _compliance_exporter():
    if "actor" not in _EXPORTER or not _EXPORTER["actor"].user.pk:
        _EXPORTER["actor"] = _compliance()
    return _EXPORTER["actor"]


def test_R9_every_consumer_sees_the_same_suppression_in_force(admin_client):
    _EXPORTER.clear()
    account = AccountFactory()
    address = "Anna.Lee+news@Example.COM"
    key = "anna.lee+news@example.com"
    unsubscribed = datetime(2026, 1, 10, tzinfo=UTC)
    opted_in = datetime(2026, 2, 10, tzinfo=UTC)
    again = datetime(2026, 3, 10, tzinfo=UTC)
    staff = _compliance_exporter()
    suppression_record(
        account=account, address=address, source="unsubscribe_link", at=unsubscribed, by=JOB
    )
    optin_record(
        account=account,
        address=address,
        at=opted_in,
        method="written_consent",
        origin="letter",
        evidence="signed form 17",
        by=staff,
        requested_by=_compliance("compliance.asks"),
        now=opted_in,
    )
    md5 = hashlib.md5(key.encode()).hexdigest()
    sha = hashlib.sha256(key.encode()).hexdigest()
    # (moment, suppressed then, what an import of the address then does: already
    # suppressed, added, or superseded by the opt-in of that very instant)
    for at, suppressed, imported in (
        (unsubscribed - timedelta(seconds=1), False, (0, 1, 0)),
        (unsubscribed, True, (1, 0, 0)),
        (opted_in - timedelta(seconds=1), True, (1, 0, 0)),
        (opted_in, False, (0, 0, 1)),
    ):
        # the check
        assert is_suppressed(account, address, at=at) is suppressed, at
        assert suppressions_in_force(account=account, at=at).exists() is suppressed, at
        # the hand-over export, inside COPY on PostgreSQL, plain and hashed
        assert (key in _export(account, "csv", at)) is suppressed, at
        assert (md5 in _export(account, "md5", at)) is suppressed, at
        assert (sha in _export(account, "sha256", at)) is suppressed, at
        # the import preview: already suppressed at that moment, or would be added
        outcome = suppressions_import(
            account=account,
            stream=io.BytesIO(f"email\n{address}\n".encode()),
            file_name="list.csv",
            by=staff,
            now=at,
            dry_run=True,
        )
        assert (outcome.already, outcome.added, outcome.superseded) == imported, at
    # recording the unsubscribe again while in force adds nothing; after the opt-in it does
    events = Suppression.objects.filter(account=account).count()
    suppression_record(
        account=account, address=address, source="unsubscribe_link", at=unsubscribed, by=JOB
    )
    assert Suppression.objects.filter(account=account).count() == events
    suppression_record(account=account, address=address, source="complaint", at=again, by=JOB)
    assert Suppression.objects.filter(account=account).count() == events + 1
    # the import's merge writes nothing for an address in force at the row's date
    outcome = suppressions_import(
        account=account,
        stream=io.BytesIO(f"email\n{address}\n".encode()),
        file_name="again.csv",
        by=staff,
        now=again + timedelta(days=1),
        dry_run=False,
    )
    assert outcome.added == 0
    # the staff's "in force now" filter lists the event in force, not the lifted one
    url = reverse("admin:compliance_suppression_changelist")
    in_force = admin_client.get(url, {"in_force": "yes"}).context["cl"].result_list
    lifted = admin_client.get(url, {"in_force": "no"}).context["cl"].result_list
    assert [s.at for s in in_force] == [again]
    assert [s.at for s in lifted] == [unsubscribed]


# --- R11 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "America/Los_Angeles"])
def test_R11_every_consumer_names_the_same_cancellation_day(zone, admin_client):
    tz = ZoneInfo(zone)
    suspended_at = datetime(2026, 3, 1, 23, 30, tzinfo=tz)
    account = AccountFactory(status=S.SUSPENDED, time_zone=zone)
    profile = BillingProfileFactory(
        account=account,
        unpaid_since=suspended_at,
        suspended_at=suspended_at,
        unpaid_reason="no card on file",
        due_at=None,
    )
    day = billing_selectors.unpaid_cancel_day(suspended_at=suspended_at, zone=tz)
    assert day == date(2026, 3, 1) + timedelta(days=91)  # day 91, not 90
    first_moment = start_of_day(day, tz)
    # the "cancelled on" column and the suspension notice name that day
    assert billing_selectors.unpaid_cancel_date(profile=profile) == day
    notice = suspension_notice(profile=profile, as_of=suspended_at)
    assert day.isoformat() in notice.body
    # the "cancels within 7 days" filter (and the dashboard) from 7 local days before
    for moment, within in (
        (start_of_day(day - timedelta(days=7), tz) - timedelta(seconds=1), False),
        (start_of_day(day - timedelta(days=7), tz), True),
    ):
        soon = billing_selectors.profiles_cancelling_within(as_of=moment, days=7)
        assert soon.filter(pk=profile.pk).exists() is within, moment
        svg = str(coming_up(now=moment).svg)
        assert f"Cancelled for non-payment within 7 days: {int(within)}" in svg
    # the job cancels on that day, not a second before
    assert job("cancel_unpaid")(as_of=first_moment - timedelta(seconds=1)).get("cancelled", 0) == 0
    assert job("cancel_unpaid")(as_of=first_moment)["cancelled"] == 1
    request = CancellationRequest.objects.get(account=account)
    assert not request.voluntary
