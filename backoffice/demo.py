"""Demo history for the dashboard: twelve months of month-end state counts."""

from __future__ import annotations

import random
from datetime import datetime

from django.db.models import Count
from django.utils.translation import gettext as _

from accounts.models import Account
from backoffice.dashboard import last_twelve_months
from backoffice.models import StateSnapshot


def seed(*, rng: random.Random, now: datetime, count: int) -> str:
    current = dict(Account.objects.order_by().values_list("status").annotate(n=Count("id")))
    months = last_twelve_months(now.date())
    snapshots = []
    for age, month in enumerate(reversed(months)):
        # Going back in time the base was smaller and fewer accounts had closed yet.
        shrink = 1 - 0.04 * age
        for status, n in current.items():
            closed = status in ("cancelled", "expired", "purged")
            factor = shrink * (1 - 0.05 * age) if closed else shrink
            noise = rng.uniform(0.95, 1.05)
            snapshots.append(
                StateSnapshot(
                    month=month,
                    status=status,
                    accounts=max(0, round(n * factor * noise)),
                    taken_at=now,
                )
            )
    StateSnapshot.objects.bulk_create(snapshots)
    return _("%(months)s months of state counts") % {"months": len(months)}
