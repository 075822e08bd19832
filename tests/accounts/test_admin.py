"""The staff admin: the cancellation desk page, agent actions with their confirmation step,
the filters staff ask for, and the read-only timeline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountEvent, AccountStatus, CancellationRequest
from accounts.services import account_pause
from billing import selectors
from core.actors import Actor
from core.models import ChangeRecord
from tests.accounts.factories import CancellationReasonFactory, CancellationRequestFactory
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db
S = AccountStatus


@pytest.fixture
def support_client(client, make_role_user):
    client.force_login(make_role_user("Support", "support.sue"))
    return client


def call_url(account):
    return reverse("admin:accounts_account_cancellation_call", args=[account.pk])


def action_url(account, action):
    return reverse("admin:accounts_account_agent_action", args=[account.pk, action])


def message_texts(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_account_page_offers_the_desk_and_shows_the_timeline_R12(support_client, now):
    account = AccountFactory(status=S.ACTIVE)
    account_pause(account=account, by=Actor.system("seed"), now=now, reason="Seasonal break")

    page = support_client.get(reverse("admin:accounts_account_change", args=[account.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert "Take cancellation call" in html
    assert "Resume" in html and ">Pause<" not in html
    assert "Seasonal break" in html  # the timeline


def test_the_desk_page_shows_the_billing_cut_off_in_the_accounts_time_zone_R3(
    support_client, monkeypatch
):
    account = AccountFactory(status=S.ACTIVE, time_zone="America/Los_Angeles")
    billing_date = (timezone.now() + timedelta(days=10)).date()
    monkeypatch.setattr(selectors, "next_billing_date", lambda *, account: billing_date)

    page = support_client.get(call_url(account))

    html = page.content.decode()
    begins = billing_date.isoformat()
    # R3's cut-off in the one phrasing every page uses, on the account's clock with its zone.
    assert f"cancel before {begins} 00:00 P" in html
    assert "(America/Los_Angeles), when the billing date begins there" in html
    assert "a cancellation now is in time" in html
    assert "Pausing offered instead" in html


def test_the_desk_records_a_call_through_the_admin_R2(support_client):
    account = AccountFactory(status=S.ACTIVE)
    reason = CancellationReasonFactory(name="Too expensive")

    response = support_client.post(
        call_url(account),
        {
            "username": account.username,
            "reason": reason.pk,
            "callers_words": "Budget",
            "pause": "declined",
        },
    )

    assert response.status_code == 302
    account.refresh_from_db()
    assert account.status == S.CANCELLED
    request = CancellationRequest.objects.get(account=account)
    assert (request.reason, request.pause_offered, request.pause_accepted) == (reason, True, False)


@pytest.mark.parametrize(
    ("status", "data", "message"),
    [
        (S.ACTIVE, {"username": "someone-else", "pause": "declined"}, "does not match"),
        (S.ACTIVE, {"pause": "declined", "reason": ""}, "no reason, no cancellation"),
        (S.CANCELLED, {"pause": "declined"}, "already cancelled"),
        (S.SUSPENDED, {"pause": "accepted"}, "cannot pause"),
    ],
    ids=["wrong-username", "missing-reason", "already-cancelled", "pause-suspended"],
)
def test_bad_input_at_the_desk_is_a_clear_message_and_changes_nothing_R2(
    support_client, status, data, message, now
):
    account = AccountFactory(status=status, inactive_since=now)
    reason = CancellationReasonFactory(name="Too expensive")
    form = {"username": account.username, "reason": reason.pk, "callers_words": "", **data}

    response = support_client.post(call_url(account), form)

    assert response.status_code == 200
    assert any(
        message in text and "Nothing was changed" in text for text in message_texts(response)
    )
    account.refresh_from_db()
    assert account.status == status
    assert not CancellationRequest.objects.filter(account=account).exists()
    assert not AccountEvent.objects.filter(account=account).exists()


def test_a_trial_at_the_desk_says_it_ends_by_itself_and_offers_only_closing_R1(support_client, now):
    account = AccountFactory(
        status=S.TRIAL, time_zone="Europe/Berlin", trial_ends_at=timezone.now() + timedelta(days=3)
    )

    html = support_client.get(call_url(account)).content.decode()

    assert "ends by itself on" in html
    assert "Close the trial now" in html
    assert "Record the call" not in html and "Pausing offered" not in html


def test_pausing_asks_for_confirmation_first_then_pauses_R8(support_client):
    account = AccountFactory(status=S.ACTIVE)

    confirm = support_client.get(action_url(account, "pause"))
    assert "pause fee" in confirm.content.decode()
    account.refresh_from_db()
    assert account.status == S.ACTIVE

    response = support_client.post(
        action_url(account, "pause"), {"username": account.username, "reason": "Off season"}
    )

    assert response.status_code == 302
    account.refresh_from_db()
    assert account.status == S.PAUSED


def test_pausing_a_suspended_account_in_the_admin_is_refused_clearly_R8(support_client):
    account = AccountFactory(status=S.SUSPENDED)

    response = support_client.post(
        action_url(account, "pause"), {"username": account.username, "reason": "Asked to"}
    )

    assert response.status_code == 200
    assert any("suspended" in t and "(R8)" in t for t in message_texts(response))
    account.refresh_from_db()
    assert account.status == S.SUSPENDED


def test_reactivation_in_the_admin_needs_the_typed_username_R7(support_client, now):
    account = AccountFactory(status=S.CANCELLED, inactive_since=timezone.now() - timedelta(days=5))

    refused = support_client.post(
        action_url(account, "reactivate"), {"username": "wrong", "reason": "Came back"}
    )
    account.refresh_from_db()
    assert (refused.status_code, account.status) == (200, S.CANCELLED)

    support_client.post(
        action_url(account, "reactivate"), {"username": account.username, "reason": "Came back"}
    )
    account.refresh_from_db()
    assert account.status == S.ACTIVE


def test_a_role_without_the_desk_permission_neither_sees_nor_uses_it(client, make_role_user):
    client.force_login(make_role_user("Billing", "billing.bo"))
    account = AccountFactory(status=S.ACTIVE)

    page = client.get(reverse("admin:accounts_account_change", args=[account.pk]))

    assert "Take cancellation call" not in page.content.decode()
    assert client.get(call_url(account)).status_code == 403
    assert client.post(action_url(account, "pause"), {"username": account.username}).status_code
    account.refresh_from_db()
    assert account.status == S.ACTIVE


def test_account_filters_trial_ending_soon_and_confirmation_overdue_R1_R4(support_client):
    now = timezone.now()
    soon = AccountFactory(status=S.TRIAL, trial_ends_at=now + timedelta(days=6))
    later = AccountFactory(status=S.TRIAL, trial_ends_at=now + timedelta(days=8))
    overdue = CancellationRequestFactory(at=now - timedelta(hours=25)).account
    on_time = CancellationRequestFactory(at=now - timedelta(hours=2)).account
    changelist = reverse("admin:accounts_account_changelist")

    trials = support_client.get(changelist, {"trial_ends": "7d"}).content.decode()
    late = support_client.get(changelist, {"confirmation": "overdue"}).content.decode()

    assert soon.username in trials and later.username not in trials
    assert overdue.username in late and on_time.username not in late


def test_cancellation_requests_filter_confirmation_overdue_R4(support_client):
    now = timezone.now()
    overdue = CancellationRequestFactory(at=now - timedelta(hours=30))
    fine = CancellationRequestFactory(at=now - timedelta(hours=30), confirmation_sent_at=now)
    url = reverse("admin:accounts_cancellationrequest_changelist")

    html = support_client.get(url, {"confirmation": "overdue"}).content.decode()

    assert overdue.account.username in html
    assert fine.account.username not in html
    assert "OVERDUE" in html


def test_account_search_by_username_email_and_company(support_client):
    account = AccountFactory(username="lakeside-yoga", company="Lakeside Yoga Studio")
    other = AccountFactory(username="prairie-books", company="Prairie Books")
    url = reverse("admin:accounts_account_changelist")

    for term in ("lakeside", account.primary_email, "Yoga Studio"):
        html = support_client.get(url, {"q": term}).content.decode()
        assert account.username in html and other.username not in html


def test_managers_retire_reasons_they_stay_on_old_requests(client, make_role_user):
    client.force_login(make_role_user("Manager", "manager.mo"))
    request = CancellationRequestFactory(reason=CancellationReasonFactory(name="Old reason"))
    url = reverse("admin:accounts_cancellationreason_changelist")

    client.post(
        url,
        {
            "action": "retire",
            "_selected_action": [request.reason.pk],
            "apply": "1",
            "why": "No longer asked",
        },
    )

    request.reason.refresh_from_db()
    assert not request.reason.active
    # R12: the change log says who retired it and why.
    record = ChangeRecord.objects.get(object_id=str(request.reason.pk))
    assert (record.action, record.reason, record.by_user.username) == (
        "retired",
        "No longer asked",
        "manager.mo",
    )
    assert (
        "Old reason"
        in client.get(
            reverse("admin:accounts_cancellationrequest_change", args=[request.pk])
        ).content.decode()
    )
