"""Two worker processes run run_billing at the same moment on PostgreSQL (R11, R3): the prepaid
renewal is charged exactly once, and every due period of every account exactly once."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from decimal import Decimal

import pytest

from billing.models import BillingMode, CardChargeAttempt, EntryKind, LedgerEntry
from tests.billing.factories import BillingProfileFactory, CardFactory, PlanFactory
from tests.billing.helpers import local
from tests.factories import AccountFactory
from tests.processes import ROOT, process_env

ZONE = "America/New_York"
ZERO_DAY = date(2027, 1, 15)
MONTHLY_ACCOUNTS = 600  # more than one batch, so the two workers interleave


def start_runjob(as_of: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "runjob", "run_billing", "--as-of", as_of],
        cwd=ROOT,
        env=process_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_renew_the_prepayment_exactly_once_R11():
    plan = PlanFactory()
    prepaid = AccountFactory(time_zone=ZONE)
    BillingProfileFactory(
        account=prepaid,
        plan=plan,
        mode=BillingMode.PREPAID,
        prepaid_months=12,
        prepaid_balance=Decimal("45.00"),
        next_billing_date=ZERO_DAY,
    )
    CardFactory(account=prepaid, token="tok_visa")
    for _ in range(MONTHLY_ACCOUNTS):
        account = AccountFactory(time_zone=ZONE)
        BillingProfileFactory(account=account, plan=plan, next_billing_date=ZERO_DAY)
        CardFactory(account=account, token="tok_ok_bench")
    as_of = local(ZONE, 2027, 1, 15, 1, 0).isoformat()

    workers = [start_runjob(as_of), start_runjob(as_of)]
    outputs = [w.communicate(timeout=120)[0].decode() for w in workers]

    assert [w.returncode for w in workers] == [0, 0], outputs
    renewals = LedgerEntry.objects.filter(account=prepaid, kind=EntryKind.PREPAYMENT_PURCHASE)
    assert [r.amount for r in renewals] == [Decimal("540.00")]
    assert LedgerEntry.objects.filter(account=prepaid, kind=EntryKind.CARD_PAYMENT).count() == 1
    assert CardChargeAttempt.objects.filter(account=prepaid).count() == 1
    charges = LedgerEntry.objects.filter(kind=EntryKind.CHARGE)
    assert charges.count() == MONTHLY_ACCOUNTS
    assert charges.values("account").distinct().count() == MONTHLY_ACCOUNTS
    assert CardChargeAttempt.objects.count() == MONTHLY_ACCOUNTS + 1
    # both workers did part of the work, or one found it all taken: either way, once
    assert all("run_billing as of" in out for out in outputs), outputs
