"""What the billing profile's page, its list and the account page's billing inline all show of
an account's next charge: one display each, read from the row (its account is selected with
it), never one query per row."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing import selectors
from billing.models import BillingProfile
from core.localtime import cancel_before, local_day


class NextChargeDisplay:
    """The next billing date and R3's last moment to cancel without it, as staff read them."""

    @admin.display(description=gettext_lazy("next billing date"), ordering="due_at")
    def next_billing_day(self, obj: BillingProfile) -> str:
        # The account's next charge as billing's selector sees it (none after a cancellation),
        # a day of the account's calendar with its zone.
        if obj is None or obj.pk is None:
            return "—"
        day = selectors.profile_next_billing_date(profile=obj)
        return local_day(day, obj.account.zone) if day else _("none due")

    @admin.display(description=gettext_lazy("last moment to cancel without the next charge"))
    def cancel_without_next_charge_until(self, obj: BillingProfile) -> str:
        if obj is None or obj.pk is None:
            return "—"
        deadline = selectors.profile_cancellation_deadline(profile=obj)
        return cancel_before(deadline, obj.account.zone)
