"""The forecast of one account (issue 14 item 1): the jobs' own code in a dry run that leaves
nothing behind, sends no mail and asks no real gateway."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import translation

from accounts.models import AccountEvent, CancellationRequest
from billing.gateway import ChargeResult, PaymentGateway, configured_gateway
from billing.models import BillingProfile, CardChargeAttempt, LedgerEntry
from jobs.forecast import account_forecast
from tests.billing.factories import BillingProfileFactory, CardFactory
from tests.factories import AccountFactory
from workflows.forecast import ForecastError

pytestmark = pytest.mark.django_db
START = datetime(2026, 11, 20, 12, tzinfo=UTC)


class RealGatewayStandIn(PaymentGateway):
    """Stands for a real gateway (not the test gateway): any call to it is recorded."""

    calls: list[str] = []

    def charge(self, *, token, amount, currency, idempotency_key) -> ChargeResult:
        self.calls.append(idempotency_key)
        return ChargeResult(succeeded=False, decline_code="should_not_be_asked")


@pytest.fixture
def real_gateway(settings):
    RealGatewayStandIn.calls = []
    settings.PAYMENT_GATEWAY = f"{__name__}.RealGatewayStandIn"
    configured_gateway.cache_clear()
    yield RealGatewayStandIn
    configured_gateway.cache_clear()


def declining_monthly(zone: str = "Europe/Berlin"):
    account = AccountFactory(time_zone=zone)
    BillingProfileFactory(account=account, next_billing_date=date(2026, 12, 1))
    CardFactory(account=account, token="tok_decline")
    return account


def counts(account) -> tuple[int, ...]:
    return (
        AccountEvent.objects.filter(account=account).count(),
        LedgerEntry.objects.filter(account=account).count(),
        CardChargeAttempt.objects.filter(account=account).count(),
        CancellationRequest.objects.filter(account=account).count(),
    )


def test_declining_card_forecasts_retries_suspension_notice_and_day_91_cancellation():
    """R11: the test gateway's declining token declines at every retry; the account is
    suspended with its notice, and cancelled on day 91 of its suspension (R4 confirms it)."""
    account = declining_monthly()
    forecast = account_forecast(account=account, as_of=START, days=120)
    days = [(e.day, e.kind) for e in forecast.entries]
    assert days[0] == (date(2026, 12, 1), "declined")
    assert (date(2026, 12, 6), "suspend") in days
    assert (date(2026, 12, 6), "suspension_notice") in days
    # Suspended on 6 December (day 0): day 91 is 7 March.
    assert (date(2027, 3, 7), "cancelled_involuntary") in days
    assert (date(2027, 3, 7), "confirmation_sent") in days
    assert forecast.status_at_end == "cancelled"
    assert forecast.mails == 2
    assert all(e.rule for e in forecast.entries)


def test_forecast_leaves_nothing_behind_and_sends_no_mail():
    account = declining_monthly()
    before = counts(account)
    profile = BillingProfile.objects.get(account=account)
    account_forecast(account=account, as_of=START, days=120)
    account.refresh_from_db()
    assert counts(account) == before
    assert account.status == "active"
    assert BillingProfile.objects.get(account=account).due_at == profile.due_at
    assert mail.outbox == []


def test_a_real_gateways_card_is_assumed_to_succeed_and_the_gateway_is_never_asked(real_gateway):
    account = declining_monthly()
    forecast = account_forecast(account=account, as_of=START, days=45)
    assert real_gateway.calls == []
    charges = [e for e in forecast.entries if e.kind == "charge"]
    assert [(e.day, e.amount) for e in charges] == [
        (date(2026, 12, 1), Decimal("45.00")),
        (date(2027, 1, 1), Decimal("45.00")),
    ]
    assert any("assumed to succeed" in line for line in forecast.assumptions)


def test_a_window_out_of_range_is_refused_with_its_reason():
    account = declining_monthly()
    with pytest.raises(ForecastError, match="1 to 1098 days, not 0"):
        account_forecast(account=account, as_of=START, days=0)


def test_forecast_command_prints_the_entries_in_the_accounts_time_zone():
    account = declining_monthly(zone="America/New_York")
    out = StringIO()
    call_command("forecast", account.username, "--days", "30", "--as-of", "2026-11-20", stdout=out)
    text = out.getvalue()
    assert f"Forecast of {account.username} (active, America/New_York)" in text
    assert "2026-12-01 00:05 EST  [R11] Card charge Declined  45.00 USD" in text
    assert "assumes: Cards: the test gateway's own outcome" in text


def test_forecast_command_names_what_was_wrong():
    with pytest.raises(CommandError, match="no account with the username 'nobody'"):
        call_command("forecast", "nobody")
    account = declining_monthly()
    with pytest.raises(CommandError, match="not an ISO date"):
        call_command("forecast", account.username, "--as-of", "soon")


def test_forecast_command_speaks_the_operators_language():
    """Issue 13 item 1: the command's own words are translated (German here); the dates, the
    amounts and the rule codes stay as they are."""
    account = declining_monthly(zone="America/New_York")
    out = StringIO()

    with translation.override("de"):
        call_command(
            "forecast", account.username, "--days", "30", "--as-of", "2026-11-20", stdout=out
        )
        with pytest.raises(CommandError, match="kein Konto mit dem Benutzernamen 'nobody'"):
            call_command("forecast", "nobody")

    text = out.getvalue()
    assert (
        f"Vorschau für {account.username} (aktiv, America/New_York) ab 2026-11-19 19:00 EST" in text
    )
    assert "Status am Ende des Zeitraums: gesperrt; 1 E-Mail(s)" in text
    assert "Forecast of" not in text and "Status at the end" not in text


def test_a_forecast_counts_the_content_a_purge_would_delete_without_deleting_it_R7():
    """R7's purge in a forecast: the purge day and what it would delete, read by counting. A
    big sender's forecast used to delete all its content (only for the rollback to take it
    back) on every view of its page."""
    from datetime import timedelta

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import AccountStatus, Contact
    from accounts.selectors import purge_day
    from tests.compliance.factories import ContactFactory

    account = AccountFactory(
        status=AccountStatus.CANCELLED,
        inactive_since=START - timedelta(days=100),
        time_zone="Europe/Berlin",
    )
    for i in range(3):
        ContactFactory(account=account, email=f"c{i}@example.com")

    with CaptureQueriesContext(connection) as captured:
        forecast = account_forecast(account=account, as_of=START, days=120)

    purge = next(e for e in forecast.entries if e.kind == "purge")
    assert purge.day == purge_day(account)
    assert "3 contacts" in purge.detail
    assert not [q for q in captured.captured_queries if "DELETE FROM accounts_contact" in q["sql"]]
    assert Contact.objects.filter(account=account).count() == 3
