"""No money call under row locks (R11, R12): the billing run claims its card charges and
commits, asks the gateway with no lock held, then records each outcome in a short transaction.

A staff member's money action on an account whose charge is at the gateway is refused at once,
naming the charge; a refund of an earlier charge, an agent's pause or cancellation go through;
none of them waits for the gateway. A process that dies between the gateway's answer and the
record leaves the charge in flight on the profile, and the next run sends the same key again
and records the one charge the gateway made."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connections
from django.utils import translation

from accounts.models import AccountStatus
from billing.models import BillingMode, BillingProfile, CardChargeAttempt, EntryKind, LedgerEntry
from billing.services import BillingError, charge_refund, prepaid_term_buy
from core.actors import Actor
from tests.accounts.factories import CancellationReasonFactory
from tests.billing.factories import BillingProfileFactory, CardFactory
from tests.billing.gateways import (
    CrashAfterChargeGateway,
    ProcessKilled,
    RememberingGateway,
    SlowGateway,
)
from tests.billing.helpers import charges, entries, local, run_billing
from tests.factories import AccountFactory
from workflows.desk import account_agent_action, cancellation_call_take
from workflows.payments import card_retry_now, payment_record

ZONE = "America/New_York"
PERIOD = date(2026, 12, 1)
AS_OF = local(ZONE, 2026, 12, 1, 1, 0)
NOW = AS_OF + timedelta(minutes=2)


def monthly(username: str, token: str = "tok_visa"):
    account = AccountFactory(username=username, time_zone=ZONE)
    BillingProfileFactory(account=account, next_billing_date=PERIOD)
    CardFactory(account=account, token=token)
    return account


def in_thread(work: Callable[[], dict]) -> tuple[threading.Thread, dict]:
    """Run `work` in a thread of its own, on its own database connection."""
    box: dict = {}

    def target():
        try:
            box["result"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the test to assert on
            box["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, box


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_staff_actions_on_the_running_batch_do_not_wait_for_a_slow_gateway_R11_R12(
    gateways, agent, make_role_user
):
    # given four accounts due in one batch, the first one's charge slow at the gateway
    paying = monthly("paying")
    earlier = LedgerEntry.objects.create(
        account=paying,
        at=AS_OF - timedelta(days=30),
        kind=EntryKind.CHARGE,
        amount=Decimal("45.00"),
        currency="USD",
        period=date(2026, 11, 1),
        reference="ch_test_earlier",
    )
    pausing = monthly("pausing")
    leaving = monthly("leaving")
    prepaid = AccountFactory(username="prepaid", time_zone=ZONE)
    BillingProfileFactory(
        account=prepaid,
        mode=BillingMode.PREPAID,
        prepaid_balance=Decimal("45.00"),
        prepaid_months=12,
        next_billing_date=PERIOD,
    )
    CardFactory(account=prepaid, token="tok_visa")
    support = Actor.staff(make_role_user("Support", "support.sam"))
    asker = Actor.staff(make_role_user("Billing", "asking.clerk"))
    gateways(SlowGateway)
    run, outcome = in_thread(lambda: run_billing(AS_OF))
    assert SlowGateway.started.wait(timeout=60), outcome

    # when staff act on those accounts while the first charge is at the gateway
    in_progress = r"card charge of 45.00 USD \(the monthly charge\) in progress"
    with pytest.raises(BillingError, match=in_progress):
        payment_record(
            account=paying, amount="45.00", currency="USD", by=agent, now=NOW, reference="w1"
        )
    with pytest.raises(BillingError, match=in_progress):
        card_retry_now(account=paying, by=agent, now=NOW)
    with pytest.raises(BillingError, match=r"540.00 USD \(the prepaid renewal\) in progress"):
        prepaid_term_buy(account=prepaid, by=agent, now=NOW)
    refund = charge_refund(
        entry=earlier, by=agent, requested_by=asker, now=NOW, reason="Charged twice in November"
    )
    account_agent_action(
        account=pausing,
        action="pause",
        by=support,
        now=NOW,
        username_typed="pausing",
        reason="Busy season is over",
    )
    cancellation_call_take(
        account=leaving,
        by=support,
        now=NOW,
        username_typed="leaving",
        reason=CancellationReasonFactory(name="Too expensive"),
        callers_words="Moving to another provider",
        pause_accepted=False,
    )

    # then every one of them was done while the gateway still had the first charge
    assert not SlowGateway.finished.is_set()
    SlowGateway.finish.set()
    run.join(timeout=60)
    assert not run.is_alive() and "error" not in outcome, outcome
    assert outcome["result"] == {"charged": 3, "prepaid_renewed": 1}
    # and the run recorded each charge once, on the state the staff left (R3: the billing date
    # had begun before the pause and the cancellation)
    for account in (paying, pausing, leaving):
        assert charges(account).filter(period=PERIOD).count() == 1
        assert entries(account, EntryKind.CARD_PAYMENT).count() == 1
    assert refund.refund_of == earlier and refund.reference.startswith("re_test_")
    assert [e.amount for e in entries(prepaid, EntryKind.PREPAYMENT_PURCHASE)] == [
        Decimal("540.00")
    ]
    for account in (paying, pausing, leaving, prepaid):
        account.refresh_from_db()
        profile = BillingProfile.objects.get(account=account)
        assert (profile.charge_key, profile.next_billing_date) == ("", date(2027, 1, 1))
    assert (pausing.status, leaving.status) == (AccountStatus.PAUSED, AccountStatus.CANCELLED)
    assert not entries(paying, EntryKind.PAYMENT).exists()
    assert CardChargeAttempt.objects.filter(by_job="").count() == 0
    assert len({key for key, _ in SlowGateway.calls}) == 4


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_renewal_at_the_gateway_when_the_account_is_cancelled_is_recorded_then_forfeited_R5(
    gateways, make_role_user
):
    # given a prepaid account reaching zero, its renewal slow at the gateway
    prepaid = AccountFactory(username="prepaid", time_zone=ZONE)
    BillingProfileFactory(
        account=prepaid,
        mode=BillingMode.PREPAID,
        prepaid_balance=Decimal("45.00"),
        prepaid_months=12,
        next_billing_date=PERIOD,
    )
    CardFactory(account=prepaid, token="tok_visa")
    gateways(SlowGateway)
    run, outcome = in_thread(lambda: run_billing(AS_OF))
    assert SlowGateway.started.wait(timeout=60), outcome

    # when an agent cancels it meanwhile
    cancellation_call_take(
        account=prepaid,
        by=Actor.staff(make_role_user("Support", "support.sam")),
        now=NOW,
        username_typed="prepaid",
        reason=CancellationReasonFactory(name="Too expensive"),
        callers_words="",
        pause_accepted=False,
    )
    assert not SlowGateway.finished.is_set()
    SlowGateway.finish.set()
    run.join(timeout=60)
    assert outcome.get("result") == {"prepaid_renewed": 1}, outcome

    # then the renewal the gateway charged is in the ledger, and forfeited with the rest (R5)
    kinds = list(entries(prepaid).order_by("id").values_list("kind", "amount"))
    assert kinds == [
        (EntryKind.PREPAID_CONSUMPTION, Decimal("45.00")),
        (EntryKind.PREPAYMENT_PURCHASE, Decimal("540.00")),
        (EntryKind.CARD_PAYMENT, Decimal("540.00")),
        (EntryKind.FORFEITURE, Decimal("540.00")),
    ]
    assert BillingProfile.objects.get(account=prepaid).prepaid_balance == 0
    assert not entries(prepaid, EntryKind.REFUND).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_crash_after_the_gateway_charged_is_recorded_by_the_next_run_with_the_same_key_R3_R12(
    gateways, agent, make_role_user
):
    # given an account due, whose run dies right after the gateway charged its card
    account = monthly("crashing")
    gateways(CrashAfterChargeGateway)
    with pytest.raises(ProcessKilled):
        run_billing(AS_OF)
    [(key, reference)] = CrashAfterChargeGateway.calls

    # then the charge in flight is visible on the profile, nothing is in the ledger, and money
    # actions are refused, naming it
    profile = BillingProfile.objects.get(account=account)
    assert (profile.charge_key, profile.charge_amount) == (key, Decimal("45.00"))
    assert not entries(account).exists()
    assert not CardChargeAttempt.objects.filter(account=account).exists()
    with pytest.raises(BillingError, match="in progress at the payment gateway"):
        payment_record(
            account=account, amount="45.00", currency="USD", by=agent, now=NOW, reference="w1"
        )
    # and it is not taken over while its claim holds
    gateways(RememberingGateway)
    assert run_billing(AS_OF + timedelta(minutes=5)) == {}
    with pytest.raises(BillingError, match="the next billing run asks the gateway again"):
        payment_record(
            account=account,
            amount="45.00",
            currency="USD",
            by=agent,
            now=AS_OF + timedelta(minutes=30),
            reference="w1",
        )

    # when an agent pauses the account before the next run, which comes an hour later
    account_agent_action(
        account=account,
        action="pause",
        by=Actor.staff(make_role_user("Support", "support.sam")),
        now=AS_OF + timedelta(minutes=30),
        username_typed="crashing",
        reason="Customer asked",
    )
    counts = run_billing(AS_OF + timedelta(hours=1))

    # then that run asked the gateway again with the same key, got the first charge back, and
    # recorded it once: the month that was charged, not a pause fee on top (R3, R12)
    assert counts == {"resumed": 1, "charged": 1}
    assert RememberingGateway.calls == [(key, reference)]
    charge = charges(account).get()
    assert (charge.kind, charge.period, charge.reference) == (EntryKind.CHARGE, PERIOD, reference)
    assert entries(account, EntryKind.CARD_PAYMENT).get().reference == reference
    attempt = CardChargeAttempt.objects.get(account=account)
    assert (attempt.idempotency_key, attempt.outcome) == (key, "succeeded")
    profile.refresh_from_db()
    assert (profile.charge_key, profile.next_billing_date) == ("", date(2027, 1, 1))
    # and nothing more for that period, however often the run comes
    assert run_billing(AS_OF + timedelta(hours=2)) == {}
    assert charges(account).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_batch_run_again_after_its_worker_died_takes_back_its_own_charges_at_once_R3(gateways):
    """The jobs framework runs a batch whose worker died again with the same stable name: it
    takes back the charges that attempt left in flight without waiting for their lease."""
    from billing.selectors import profiles_due_for_billing
    from billing.services import billing_run

    account = monthly("redelivered")
    gateways(CrashAfterChargeGateway)
    due = profiles_due_for_billing(as_of=AS_OF, sender="b7")
    with pytest.raises(ProcessKilled):
        billing_run(profiles=due, as_of=AS_OF, by=Actor.system("run_billing"), sender="b7")
    [(key, reference)] = CrashAfterChargeGateway.calls

    gateways(RememberingGateway)
    # another batch's run at the same moment leaves it alone; the same batch takes it back
    assert not profiles_due_for_billing(as_of=AS_OF, sender="b8").exists()
    counts = billing_run(
        profiles=profiles_due_for_billing(as_of=AS_OF, sender="b7"),
        as_of=AS_OF,
        by=Actor.system("run_billing"),
        sender="b7",
    )

    assert counts == {"resumed": 1, "charged": 1}
    assert RememberingGateway.calls == [(key, reference)]
    assert charges(account).get().reference == reference


@pytest.mark.django_db
def test_the_refusal_names_the_charge_in_flight_in_the_staff_members_language_R12(agent):
    account = monthly("in-flight")
    BillingProfile.objects.filter(account=account).update(
        charge_key=f"charge:{account.pk}:{PERIOD}:0",
        charge_purpose="charge",
        charge_period=PERIOD,
        charge_amount=Decimal("45.00"),
        charge_currency="USD",
        charge_claim="b1-abc",
        charge_claimed_until=AS_OF + timedelta(minutes=10),
    )

    with translation.override("de"), pytest.raises(BillingError) as refused:
        payment_record(
            account=account, amount="45.00", currency="USD", by=agent, now=NOW, reference="w1"
        )

    assert "läuft gerade eine Kartenbelastung über 45.00 USD (die Monatsbelastung)" in str(
        refused.value
    )
    assert not entries(account).exists()


@pytest.mark.django_db
def test_a_card_retry_cut_off_after_the_gateway_charged_is_completed_by_retrying_R11_R12(
    gateways, agent
):
    # given a suspended account whose staff card retry died after the gateway charged
    account = AccountFactory(username="retried", time_zone=ZONE, status=AccountStatus.SUSPENDED)
    BillingProfileFactory(
        account=account,
        next_billing_date=date(2026, 11, 1),
        due_at=None,
        card_declines=4,
        unpaid_since=AS_OF - timedelta(days=25),
        suspended_at=AS_OF - timedelta(days=25),
    )
    CardFactory(account=account, token="tok_visa")
    gateways(CrashAfterChargeGateway)
    with pytest.raises(ProcessKilled):
        card_retry_now(account=account, by=agent, now=NOW)
    [(key, reference)] = CrashAfterChargeGateway.calls
    gateways(RememberingGateway)
    later = NOW + timedelta(minutes=15)

    # then the billing run leaves the staff member's charge alone, and a payment is refused,
    # naming the way to complete it
    assert run_billing(later) == {}
    with pytest.raises(BillingError, match="'Retry card now' asks the gateway again"):
        payment_record(
            account=account, amount="45.00", currency="USD", by=agent, now=later, reference="w1"
        )

    # when the staff member retries the card
    outcome = card_retry_now(account=account, by=agent, now=later)

    # then the same key went to the gateway, which gave the first charge back: recorded once,
    # and the account is active again (R11)
    assert outcome == "the card was charged 45.00 USD"
    assert RememberingGateway.calls == [(key, reference)]
    assert charges(account).get().reference == reference
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE
    assert BillingProfile.objects.get(account=account).charge_key == ""


@pytest.mark.django_db
def test_a_declined_prepaid_term_is_refused_and_its_attempt_recorded_R12(agent):
    account = AccountFactory(time_zone=ZONE)
    BillingProfileFactory(account=account, mode=BillingMode.PREPAID, next_billing_date=None)
    CardFactory(account=account, token="tok_decline")

    with pytest.raises(BillingError, match=r"the card was declined \(card_declined\)"):
        prepaid_term_buy(account=account, by=agent, now=NOW)

    attempt = CardChargeAttempt.objects.get(account=account)
    assert (attempt.purpose, attempt.outcome, attempt.amount) == (
        "purchase",
        "declined",
        Decimal("540.00"),
    )
    assert not entries(account).exists()
    assert BillingProfile.objects.get(account=account).charge_key == ""


@pytest.mark.django_db
def test_a_renewal_left_in_flight_on_an_account_cancelled_since_is_recorded_and_forfeited_R5(
    gateways, make_role_user
):
    # given a prepaid account reaching zero, whose run died after the gateway renewed its term
    prepaid = AccountFactory(username="prepaid", time_zone=ZONE)
    BillingProfileFactory(
        account=prepaid,
        mode=BillingMode.PREPAID,
        prepaid_balance=Decimal("45.00"),
        prepaid_months=12,
        next_billing_date=PERIOD,
    )
    CardFactory(account=prepaid, token="tok_visa")
    gateways(CrashAfterChargeGateway)
    with pytest.raises(ProcessKilled):
        run_billing(AS_OF)
    [(key, reference)] = CrashAfterChargeGateway.calls

    # when the customer cancels before the next run
    cancellation_call_take(
        account=prepaid,
        by=Actor.staff(make_role_user("Support", "support.sam")),
        now=NOW,
        username_typed="prepaid",
        reason=CancellationReasonFactory(name="Too expensive"),
        callers_words="",
        pause_accepted=False,
    )
    gateways(RememberingGateway)
    counts = run_billing(AS_OF + timedelta(hours=1))

    # then the run still takes up the charge in flight, records the renewal the gateway made,
    # and the cancellation forfeits it with the rest of the balance (R5)
    assert counts == {"resumed": 1, "prepaid_renewed": 1}
    assert RememberingGateway.calls == [(key, reference)]
    kinds = list(entries(prepaid).order_by("id").values_list("kind", "amount"))
    assert kinds == [
        (EntryKind.PREPAID_CONSUMPTION, Decimal("45.00")),
        (EntryKind.PREPAYMENT_PURCHASE, Decimal("540.00")),
        (EntryKind.CARD_PAYMENT, Decimal("540.00")),
        (EntryKind.FORFEITURE, Decimal("540.00")),
    ]
    profile = BillingProfile.objects.get(account=prepaid)
    assert (profile.charge_key, profile.prepaid_balance) == ("", 0)
    assert run_billing(AS_OF + timedelta(hours=2)) == {}
