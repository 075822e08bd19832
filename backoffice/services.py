"""Services of the back office as a whole: the dashboard's monthly state snapshots."""

from __future__ import annotations

from datetime import date, datetime

from django.db import transaction
from django.db.models import Count

from accounts.models import Account, AccountStatus
from backoffice.models import StateSnapshot


def month_start(moment: datetime) -> date:
    return moment.date().replace(day=1)


@transaction.atomic
def state_snapshot_take(*, now: datetime) -> dict[str, int]:
    """Count the accounts in each state (one aggregate query) and keep it as this month's
    figure; taken again later in the month, the newer count replaces the older."""
    counts = dict(Account.objects.order_by().values_list("status").annotate(n=Count("id")))
    month = month_start(now)
    for status in AccountStatus.values:
        StateSnapshot.objects.update_or_create(
            month=month,
            status=status,
            defaults={"accounts": counts.get(status, 0), "taken_at": now},
        )
    return {status: counts.get(status, 0) for status in AccountStatus.values}
