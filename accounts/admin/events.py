"""The whole timeline of an account, as a list: the account page shows the latest events."""

from __future__ import annotations

from django.contrib import admin

from accounts.models import AccountEvent
from core.admin import ReadOnlyAdmin


@admin.register(AccountEvent)
class AccountEventAdmin(ReadOnlyAdmin):
    """Read-only (R12); reached from an account page, filtered by that account."""

    list_display = ("at", "account", "kind", "from_status", "to_status", "by", "reason")
    list_select_related = ("account", "by_user")
    search_fields = ("=account__username",)
    ordering = ("-at", "-id")
    list_per_page = 100

    def lookup_allowed(self, lookup, value, request=None):
        # The account page links here with ?account__id__exact=<pk>.
        return lookup == "account__id__exact" or super().lookup_allowed(lookup, value, request)

    def has_view_permission(self, request, obj=None):
        # Whoever may see an account may see its timeline.
        return request.user.has_perm("accounts.view_account") or super().has_view_permission(
            request, obj
        )
