"""The billing jobs (R3, R5, R8, R11). Default schedules (migration 0003, editable in the admin):

- run_billing hourly at :05: billing dates begin at local midnight, which falls on a different
  UTC hour in every zone (and on :30/:45 in a few), so the run looks every hour;
- suspend_unpaid hourly at :20, after the run has marked accounts unpaid;
- cancel_unpaid hourly at :40: day 91 begins at local midnight too.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from billing import selectors
from billing.models import BillingProfile
from billing.services import billing_run, billing_run_preview
from core.actors import Actor
from jobs.registry import batch_sender, register
from workflows.nonpayment import (
    accounts_cancel_unpaid,
    accounts_cancel_unpaid_preview,
    accounts_suspend_unpaid,
)


@register(
    "run_billing",
    description="Charges due periods, consumes prepaid balances, renews prepayments (R3, R11)",
    due=selectors.profiles_due_for_billing,
    # Four steps of the run's 500-account batches: a few seconds with the gateway.
    batch_size=2000,
    step=500,
)
def run_billing(
    *, items: QuerySet[BillingProfile], as_of: datetime, dry_run: bool
) -> dict[str, int]:
    if dry_run:
        return billing_run_preview(profiles=items)
    # The same for every attempt of this batch: it takes back the charges a dead one left.
    return billing_run(
        profiles=items, as_of=as_of, by=Actor.system("run_billing"), sender=batch_sender()
    )


@register(
    "suspend_unpaid",
    description="Suspends accounts marked unpaid, one notice each (R11)",
    due=selectors.profiles_due_for_suspension,
    batch_size=500,
    step=100,
)
def suspend_unpaid(
    *, items: QuerySet[BillingProfile], as_of: datetime, dry_run: bool
) -> dict[str, int]:
    if dry_run:
        return {"would_suspend": items.count()}
    return accounts_suspend_unpaid(profiles=items, by=Actor.system("suspend_unpaid"), now=as_of)


@register(
    "cancel_unpaid",
    description="Cancels accounts suspended for non-payment for more than 90 days (R11)",
    due=selectors.profiles_candidates_for_unpaid_cancel,
    batch_size=500,
    step=100,
    # Candidates by a UTC bound; the run cancels on day 91 of the local calendar (R11).
    coarse_due=True,
)
def cancel_unpaid(
    *, items: QuerySet[BillingProfile], as_of: datetime, dry_run: bool
) -> dict[str, int]:
    if dry_run:
        return {"would_cancel": accounts_cancel_unpaid_preview(profiles=items, now=as_of)}
    return accounts_cancel_unpaid(profiles=items, by=Actor.system("cancel_unpaid"), now=as_of)
