"""List filters for the questions staff ask: trials ending soon, confirmations overdue, recent
requests."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import selectors
from accounts.models import Account, CancellationRequest


class TrialEndsSoonFilter(admin.SimpleListFilter):
    title = _("trial ends")
    parameter_name = "trial_ends"

    def lookups(self, request, model_admin):
        return [("7d", _("Within 7 days"))]

    def queryset(self, request, queryset):
        if self.value() == "7d":
            soon = selectors.trials_ending_within(as_of=timezone.now(), days=7)
            # Combined, not `pk__in`: the count is then read from the trial index alone.
            return queryset & soon
        return queryset


class ConfirmationOverdueFilter(admin.SimpleListFilter):
    """R4: requests still unconfirmed 24 hours after they were taken."""

    title = _("confirmation")
    parameter_name = "confirmation"

    def lookups(self, request, model_admin):
        return [
            ("overdue", _("Confirmation overdue")),
            ("pending", _("Not yet sent, within 24 hours")),
            ("on_time", _("Sent within 24 hours")),
            ("late", _("Sent late")),
        ]

    def _requests(self):
        now = timezone.now()
        if self.value() == "overdue":
            return selectors.confirmations_overdue(as_of=now)
        if self.value() in ("on_time", "late"):
            return CancellationRequest.objects.filter(
                selectors.confirmation_sent(on_time=self.value() == "on_time")
            )
        return selectors.confirmations_pending(as_of=now)

    def queryset(self, request, queryset):
        if self.value() not in ("overdue", "pending", "on_time", "late"):
            return queryset
        requests = self._requests()
        if queryset.model is Account:
            if self.value() == "late":
                # Their accounts first, then the accounts by key: late ones are few (their own
                # index, cancelreq_late_idx), but PostgreSQL keeps no statistics on the delay
                # (a difference of two columns), guesses a third of all requests and walked
                # every account by name looking for them.
                late = requests.values_list("account_id", flat=True)
                return queryset.filter(pk__in=sorted(set(late)))
            return queryset.filter(Exists(requests.filter(account=OuterRef("pk"))))
        # Combined, not `pk__in`: a plain condition on the list, so the newest-first page is
        # read from the time index (or the late ones' own index), not by joining a list of
        # every matching request's id.
        return queryset & requests
