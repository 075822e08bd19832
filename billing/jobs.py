"""The billing jobs (R3, R5, R8, R11). Default schedules (migration 0003, editable in the admin):

- run_billing hourly at :05: billing dates begin at local midnight, which falls on a different
  UTC hour in every zone (and on :30/:45 in a few), so the run looks every hour;
- suspend_unpaid hourly at :20, after the run has marked accounts unpaid;
- cancel_unpaid hourly at :40: day 91 begins at local midnight too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from backoffice.actors import Actor
from billing import selectors
from billing.services import billing_run, unpaid_cancel_due, unpaid_suspend_due
from jobs.registry import register


@register(
    "run_billing",
    description="Charges due periods, consumes prepaid balances, renews prepayments (R3, R11)",
    due=selectors.profiles_due_for_billing,
    # Four of the run's 500-account transactions: a few seconds with the gateway.
    batch_size=2000,
)
def run_billing(
    *,
    as_of: datetime,
    dry_run: bool,
    within: tuple[int, int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    return billing_run(
        as_of=as_of,
        by=Actor.system("run_billing"),
        dry_run=dry_run,
        within=within,
        progress=progress,
    )


@register(
    "suspend_unpaid",
    description="Suspends accounts marked unpaid, one notice each (R11)",
    due=selectors.profiles_due_for_suspension,
    batch_size=500,
)
def suspend_unpaid(
    *,
    as_of: datetime,
    dry_run: bool,
    within: tuple[int, int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    return unpaid_suspend_due(
        as_of=as_of,
        by=Actor.system("suspend_unpaid"),
        dry_run=dry_run,
        within=within,
        progress=progress,
    )


@register(
    "cancel_unpaid",
    description="Cancels accounts suspended for non-payment for more than 90 days (R11)",
    due=selectors.profiles_candidates_for_unpaid_cancel,
    batch_size=500,
)
def cancel_unpaid(
    *,
    as_of: datetime,
    dry_run: bool,
    within: tuple[int, int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    return unpaid_cancel_due(
        as_of=as_of,
        by=Actor.system("cancel_unpaid"),
        dry_run=dry_run,
        within=within,
        progress=progress,
    )
