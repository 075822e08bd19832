"""Money in and out: bad input, refunds and prepayments (R5), the append-only ledger (R12),
the once-per-period constraint, the test gateway."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from accounts.models import AccountStatus
from billing.gateway import TestGateway
from billing.models import (
    AccountAddOn,
    BillingMode,
    BillingProfile,
    Card,
    CardChargeAttempt,
    EntryKind,
    LedgerEntry,
)
from billing.services import (
    R5_REFUSAL,
    BillingError,
    addon_subscribe,
    billing_profile_open,
    card_attach,
    charge_refund,
    prepaid_term_buy,
)
from core.actors import Actor
from tests.billing.factories import (
    AccountAddOnFactory,
    AddOnFactory,
    BillingProfileFactory,
    CardFactory,
    PlanFactory,
)
from tests.billing.helpers import entries, run_billing
from tests.factories import AccountFactory
from workflows.cancellation import account_cancel
from workflows.payments import card_retry_now, payment_record

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def prepaid(balance="540.00", card=True):
    account = AccountFactory()
    BillingProfileFactory(
        account=account,
        mode=BillingMode.PREPAID,
        prepaid_balance=Decimal(balance),
        next_billing_date=date(2026, 12, 15),
    )
    if card:
        CardFactory(account=account)
    return account


def nothing_written(account) -> bool:
    return not LedgerEntry.objects.filter(account=account).exists()


# --- bad input: a clear error, nothing written ----------------------------------------------


def test_unknown_plan_is_refused(agent):
    account = AccountFactory()
    PlanFactory()

    with pytest.raises(BillingError, match=r"unknown plan 'platinum'; plans: growth"):
        billing_profile_open(account=account, plan_code="platinum", by=agent, now=NOW)

    assert not BillingProfile.objects.filter(account=account).exists()


@pytest.mark.parametrize(
    "amount, currency, message",
    [
        ("10.005", "USD", "more than two decimals"),
        ("-5.00", "USD", "must be more than zero"),
        ("0", "USD", "must be more than zero"),
        ("ten", "USD", "not a number"),
        (10.5, "USD", "is a float"),
        ("45.00", "EUR", "billed in USD; a payment in EUR"),
        ("45.00", "XYZ", "currency 'XYZ' is not one we bill in"),
    ],
)
def test_bad_payment_is_refused_and_writes_nothing(agent, amount, currency, message):
    account = AccountFactory(status=AccountStatus.SUSPENDED)
    BillingProfileFactory(account=account, unpaid_since=NOW, suspended_at=NOW)

    with pytest.raises(BillingError, match=message):
        payment_record(
            account=account, amount=amount, currency=currency, by=agent, now=NOW, reference="r1"
        )

    assert nothing_written(account)
    account.refresh_from_db()
    assert account.status == AccountStatus.SUSPENDED


def test_payment_short_of_the_month_owed_is_refused(agent):
    account = AccountFactory(status=AccountStatus.SUSPENDED)
    BillingProfileFactory(account=account, unpaid_since=NOW, suspended_at=NOW)

    with pytest.raises(BillingError, match=r"owes 45.00 USD .* payment of 20.00 USD"):
        payment_record(
            account=account, amount="20", currency="USD", by=agent, now=NOW, reference="r1"
        )
    assert nothing_written(account)


def test_card_token_the_gateway_rejects_is_refused(agent):
    account = AccountFactory()

    with pytest.raises(BillingError, match=r"does not know the card token '4242424242424242'"):
        card_attach(account=account, token="4242424242424242", by=agent, now=NOW)

    assert not Card.objects.filter(account=account).exists()


def test_card_on_file_keeps_token_brand_last_four_and_expiry_only(agent):
    account = AccountFactory()

    card = card_attach(account=account, token="tok_mastercard", by=agent, now=NOW)

    assert (card.brand, card.last4, card.exp_year) == ("Mastercard", "4444", 2045)
    field_names = {f.name for f in Card._meta.get_fields()}
    assert not field_names & {"number", "card_number", "pan", "cvc"}


def test_addon_in_another_currency_is_refused_and_the_run_skips_a_mismatched_account(agent):
    account = AccountFactory()
    BillingProfileFactory(account=account, next_billing_date=date(2026, 12, 1))
    CardFactory(account=account)
    euro = AddOnFactory(code="extra-seats-eur", currency="EUR")

    with pytest.raises(BillingError, match="priced in EUR, the account is billed in USD"):
        addon_subscribe(account=account, addon_code=euro.code, by=agent, now=NOW)
    assert not AccountAddOn.objects.filter(account=account).exists()

    # a mismatch that slipped in some other way: the run bills nothing for that account
    AccountAddOnFactory(account=account, addon=euro)
    counts = run_billing(NOW)
    assert counts == {"errors": 1}
    assert nothing_written(account)
    assert not CardChargeAttempt.objects.filter(account=account).exists()


# --- refunds and prepayments (R5) -----------------------------------------------------------


def test_cancelling_forfeits_the_prepaid_balance_as_a_ledger_entry_R5(agent):
    account = prepaid(balance="315.00")
    AccountAddOnFactory(account=account)

    account_cancel(account=account, by=agent, now=NOW, reason="Moving on", voluntary=True)

    forfeiture = entries(account, EntryKind.FORFEITURE).get()
    assert (forfeiture.amount, forfeiture.prepaid_balance_after) == (Decimal("315.00"), 0)
    assert forfeiture.by_user == agent.user
    assert "R5" in forfeiture.description
    profile = BillingProfile.objects.get(account=account)
    assert profile.prepaid_balance == 0
    assert not entries(account, EntryKind.REFUND).exists()
    assert not AccountAddOn.objects.filter(account=account, cancelled_at__isnull=True).exists()


def test_refund_of_a_prepayment_is_refused_for_everyone_R5(agent, django_user_model):
    account = prepaid(balance="0")
    purchase = prepaid_term_buy(account=account, by=agent, now=NOW)
    card_payment = entries(account, EntryKind.CARD_PAYMENT).get()
    superuser = django_user_model.objects.create_superuser("root", password="x")
    from core.actors import Actor

    for by in (agent, Actor.staff(superuser), Actor.system("any_job")):
        for entry in (purchase, card_payment):
            with pytest.raises(BillingError, match=r"Prepayments are not refundable \(R5\)"):
                charge_refund(entry=entry, by=by, now=NOW, reason="Customer asked")

    assert not entries(account, EntryKind.REFUND).exists()
    assert R5_REFUSAL.startswith("Prepayments are not refundable (R5)")


def test_refund_of_a_consumed_month_or_forfeiture_is_refused_R5(agent):
    account = prepaid(balance="90.00")
    run_billing(datetime(2026, 12, 15, 1, tzinfo=UTC))
    consumption = entries(account, EntryKind.PREPAID_CONSUMPTION).get()
    account_cancel(account=account, by=agent, now=NOW.replace(day=20), reason="x", voluntary=True)
    forfeiture = entries(account, EntryKind.FORFEITURE).get()

    for entry in (consumption, forfeiture):
        with pytest.raises(BillingError, match=r"\(R5\)"):
            charge_refund(entry=entry, by=agent, now=NOW, reason="Customer asked")


def test_a_monthly_charge_can_be_refunded_once(agent, make_role_user):
    asker = Actor.staff(make_role_user("Billing", "asking.clerk"))
    account = AccountFactory()
    BillingProfileFactory(account=account, next_billing_date=date(2026, 12, 1))
    CardFactory(account=account)
    run_billing(NOW)
    charge = entries(account, EntryKind.CHARGE).get()

    refund = charge_refund(
        entry=charge, by=agent, requested_by=asker, now=NOW, reason="Billing error"
    )

    assert (refund.amount, refund.refund_of, refund.reference[:8]) == (
        Decimal("45.00"),
        charge,
        "re_test_",
    )
    with pytest.raises(BillingError, match="already refunded"):
        charge_refund(entry=charge, by=agent, requested_by=asker, now=NOW, reason="Again")


@pytest.mark.postgres
def test_database_refuses_a_prepayment_refund_inserted_by_raw_sql_R5(agent):
    account = prepaid(balance="0")
    purchase = prepaid_term_buy(account=account, by=agent, now=NOW)

    with pytest.raises(Exception, match=r"Prepayments are not refundable \(R5\)"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO billing_ledgerentry (account_id, at, kind, amount, currency, "
                "description, reference, by_job, refund_of_id) "
                "VALUES (%s, now(), 'refund', 540, 'USD', '', '', 'sql', %s)",
                [account.pk, purchase.pk],
            )


# --- the ledger is append-only (R12) and a period is charged once ---------------------------


def test_ledger_entries_cannot_be_edited_or_deleted_through_the_orm_R12(agent):
    account = prepaid(balance="0")
    entry = prepaid_term_buy(account=account, by=agent, now=NOW)

    with pytest.raises(PermissionError):
        entry.delete()
    entry.amount = Decimal("1.00")
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        LedgerEntry.objects.filter(account=account).update(amount=0)
    with pytest.raises(PermissionError):
        LedgerEntry.objects.filter(account=account).delete()


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE billing_ledgerentry SET amount = 0",
        "DELETE FROM billing_ledgerentry",
        "TRUNCATE billing_ledgerentry CASCADE",
        "TRUNCATE accounts_account CASCADE",
    ],
)
def test_database_refuses_raw_sql_edits_of_the_ledger_R12(agent, sql):
    account = prepaid(balance="0")
    prepaid_term_buy(account=account, by=agent, now=NOW)

    with connection.cursor() as cursor:
        # Run the deferred foreign-key checks now: PostgreSQL will not truncate a table with
        # pending ones, which would hide what the trigger says.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with pytest.raises(Exception, match=r"cannot be edited or deleted \(R12\)"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)

    assert entries(account).count() == 2


def test_database_allows_one_charge_per_account_and_period_R3(agent):
    account = AccountFactory()
    common = {"account": account, "at": NOW, "currency": "USD", "period": date(2026, 12, 1)}
    LedgerEntry.objects.create(kind=EntryKind.CHARGE, amount=Decimal("45"), **common)

    for kind in (EntryKind.CHARGE, EntryKind.PAUSE_FEE, EntryKind.PREPAID_CONSUMPTION):
        with pytest.raises(IntegrityError), transaction.atomic():
            LedgerEntry.objects.create(kind=kind, amount=Decimal("45"), **common)
    # a different period is fine
    LedgerEntry.objects.create(
        kind=EntryKind.CHARGE, amount=Decimal("45"), **{**common, "period": date(2027, 1, 1)}
    )


# --- the gateway and card retries -----------------------------------------------------------


def test_test_gateway_charges_each_idempotency_key_once():
    gateway = TestGateway()
    args = {"token": "tok_visa", "amount": Decimal("45.00"), "currency": "USD"}

    first = gateway.charge(idempotency_key="k1", **args)
    again = gateway.charge(idempotency_key="k1", **args)
    other = gateway.charge(idempotency_key="k2", **args)

    assert first.succeeded and first == again and other.reference != first.reference
    assert not gateway.charge(idempotency_key="k3", **{**args, "token": "tok_decline"}).succeeded


def test_gateway_unavailable_leaves_the_period_due_for_the_next_run():
    account = AccountFactory()
    BillingProfileFactory(account=account, next_billing_date=date(2026, 12, 1))
    CardFactory(account=account, token="tok_unavailable")

    assert run_billing(NOW) == {"gateway_unavailable": 1}

    profile = BillingProfile.objects.get(account=account)
    assert profile.unpaid_since is None and profile.card_declines == 0
    assert profile.due_at is not None and profile.due_at <= NOW
    assert not entries(account).exists()


def test_retry_card_now_after_a_new_card_reactivates_a_suspended_account_R11(agent):
    account = AccountFactory(status=AccountStatus.SUSPENDED)
    BillingProfileFactory(
        account=account,
        next_billing_date=date(2026, 11, 1),
        unpaid_since=NOW,
        suspended_at=NOW,
        card_declines=4,
        due_at=None,
    )
    CardFactory(account=account, token="tok_decline")

    assert "not charged" in card_retry_now(account=account, by=agent, now=NOW)
    account.refresh_from_db()
    assert account.status == AccountStatus.SUSPENDED

    card_attach(account=account, token="tok_visa", by=agent, now=NOW)
    assert "charged 45.00 USD" in card_retry_now(account=account, by=agent, now=NOW)

    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE
    assert entries(account, EntryKind.CHARGE).get().period == date(2026, 11, 1)
    profile = BillingProfile.objects.get(account=account)
    assert profile.unpaid_since is None and profile.suspended_at is None
    assert profile.next_billing_date == date(2027, 1, 1)


def test_retry_card_now_with_nothing_outstanding_is_refused(agent):
    account = AccountFactory()
    BillingProfileFactory(account=account)
    CardFactory(account=account)

    with pytest.raises(BillingError, match="no declined or unpaid charge"):
        card_retry_now(account=account, by=agent, now=NOW)


@pytest.mark.parametrize("role", ["Support", "Compliance", "Manager"])
def test_money_services_refuse_staff_without_the_billing_role(role, make_role_user):
    """The admin hides these actions from other roles; the services refuse them too."""
    account = AccountFactory()
    BillingProfileFactory(account=account)
    other = Actor.staff(make_role_user(role))

    for attempt in (
        lambda: payment_record(
            account=account, amount="45.00", currency="USD", by=other, now=NOW, reference="T1"
        ),
        lambda: card_retry_now(account=account, by=other, now=NOW),
    ):
        with pytest.raises(BillingError, match="may not"):
            attempt()
    assert not LedgerEntry.objects.filter(account=account).exists()
