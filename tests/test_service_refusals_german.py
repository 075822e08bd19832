"""Service refusals are read by staff: they come in the staff member's language (issue 13).
The services translate at raise time, so a German staff member (German active for the
request) reads the refusal in German, the rule it rests on still named."""

from datetime import UTC, datetime

import pytest
from django.utils import translation

from billing.services import BillingError, charge_refund, prepaid_term_buy
from compliance.services.erasure import ErasureRefused, erasure_request_record
from compliance.services.suppressions import OptInRefused, optin_check
from core.actors import Actor
from tests.billing.test_money_and_ledger import prepaid

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


@pytest.mark.django_db
def test_a_german_billing_clerk_reads_the_prepayment_refusal_in_german_R5(make_role_user):
    clerk = Actor.staff(make_role_user("Billing", "billing.clerk.de"))
    account = prepaid(balance="0")
    purchase = prepaid_term_buy(account=account, by=clerk, now=NOW)

    with translation.override("de"), pytest.raises(BillingError) as refused:
        charge_refund(entry=purchase, by=clerk, now=NOW, reason="Kunde hat gefragt")
    assert str(refused.value).startswith("Vorauszahlungen werden nicht erstattet (R5)")

    # The same refusal stays English for an English staff member.
    with translation.override("en"), pytest.raises(BillingError) as refused:
        charge_refund(entry=purchase, by=clerk, now=NOW, reason="Customer asked")
    assert str(refused.value).startswith("Prepayments are not refundable (R5)")


def test_a_german_compliance_officer_reads_the_opt_in_refusal_in_german_R9():
    with translation.override("de"), pytest.raises(OptInRefused) as refused:
        optin_check(
            address="anna@example.com",
            at=NOW,
            method="double_opt_in",
            origin="",
            evidence="",
            now=NOW,
        )
    message = str(refused.value)
    assert message.startswith("eine Einwilligung braucht ihren Nachweis")
    assert "(R9)" in message
    assert "missing" not in message and "evidence" not in message


@pytest.mark.django_db
def test_a_german_support_agent_is_told_in_german_that_erasure_is_for_compliance(
    make_role_user,
):
    agent = Actor.staff(make_role_user("Support", "support.agent.de"))
    with translation.override("de"), pytest.raises(ErasureRefused) as refused:
        erasure_request_record(
            address="anna@example.com", account=None, reference="ticket 1", by=agent, now=NOW
        )
    assert "darf keine Löschanträge erfassen (nur Compliance)" in str(refused.value)
