"""List filters for the questions staff ask: trials ending soon, confirmations overdue."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import selectors
from accounts.models import Account


class TrialEndsSoonFilter(admin.SimpleListFilter):
    title = _("trial ends")
    parameter_name = "trial_ends"

    def lookups(self, request, model_admin):
        return [("7d", _("Within 7 days"))]

    def queryset(self, request, queryset):
        if self.value() == "7d":
            soon = selectors.trials_ending_within(as_of=timezone.now(), days=7)
            return queryset.filter(pk__in=soon.values("pk"))
        return queryset


class ConfirmationOverdueFilter(admin.SimpleListFilter):
    """R4: requests still unconfirmed 24 hours after they were taken."""

    title = _("confirmation")
    parameter_name = "confirmation"

    def lookups(self, request, model_admin):
        return [
            ("overdue", _("Confirmation overdue")),
            ("pending", _("Not yet sent, within 24 hours")),
        ]

    def _requests(self):
        now = timezone.now()
        if self.value() == "overdue":
            return selectors.confirmations_overdue(as_of=now)
        return selectors.confirmations_pending(as_of=now)

    def queryset(self, request, queryset):
        if self.value() not in ("overdue", "pending"):
            return queryset
        requests = self._requests()
        if queryset.model is Account:
            return queryset.filter(Exists(requests.filter(account=OuterRef("pk"))))
        return queryset.filter(pk__in=requests.values("pk"))
