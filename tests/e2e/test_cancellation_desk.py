"""An agent takes a cancellation call in a real browser (R2, R3, R4, R8)."""

import pytest
from django.core import mail
from django.core.management import call_command

from accounts.models import AccountStatus, CancellationRequest
from tests.factories import AccountFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_agent_finds_account_declines_pause_cancels_and_confirmation_goes_out_R2_R4(
    page, live_server, log_in, make_role_user, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    user = make_role_user("Support", username="agent.kim")
    user.set_password("pw-agent-e2e")
    user.save()
    account = AccountFactory(
        username="lakeside-yoga",
        company="Lakeside Yoga",
        status=AccountStatus.ACTIVE,
        time_zone="America/Los_Angeles",
    )
    AccountFactory.create_batch(3)

    # the agent logs in and finds the account by its username
    log_in(page, "agent.kim", "pw-agent-e2e")
    page.goto(f"{live_server.url}/admin/accounts/account/")
    page.fill("#searchbar", "lakeside-yoga")
    page.press("#searchbar", "Enter")
    page.click("#result_list a:text('lakeside-yoga')")

    # takes the call: identity, reason, the caller's words, pause offered and declined
    page.click("text=Take cancellation call")
    page.fill("input[name=username]", "lakeside-yoga")
    page.select_option("select[name=reason]", label="Too expensive")
    page.fill("textarea[name=callers_words]", "Budget cut for next year")
    page.check("input[name=pause][value=declined]")
    page.click("input[name=record]")

    # the account page confirms and shows the cancellation on the timeline
    page.wait_for_selector(".messagelist .success")
    assert "cancelled" in page.inner_text(".messagelist").lower()
    assert "Budget cut" in page.content() or "Too expensive" in page.content()
    account.refresh_from_db()
    assert account.status == AccountStatus.CANCELLED
    request = CancellationRequest.objects.get(account=account)
    assert (request.voluntary, request.pause_offered, request.pause_accepted) == (True, True, False)

    # the confirmation job sends exactly one email; nothing is left overdue
    call_command("runjob", "send_confirmations")
    assert [m.to for m in mail.outbox] == [[account.primary_email]]
    page.goto(f"{live_server.url}/admin/accounts/cancellationrequest/?confirmation=overdue")
    assert page.locator("#result_list tbody tr").count() == 0
    page.goto(f"{live_server.url}/admin/accounts/cancellationrequest/?confirmation=pending")
    assert page.locator("#result_list tbody tr").count() == 0
