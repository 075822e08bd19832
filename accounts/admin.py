from django.contrib import admin

from accounts.models import Account, AccountEvent


class AccountEventInline(admin.TabularInline):
    """The account's timeline: read-only (R12)."""

    model = AccountEvent
    fields = ("at", "kind", "from_status", "to_status", "by", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-at", "-id")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("username", "company", "primary_email", "status", "time_zone", "created_at")
    list_filter = ("status", "language", "legal_hold")
    search_fields = ("=username", "=primary_email", "company")
    readonly_fields = ("status", "inactive_since", "created_at")
    inlines = [AccountEventInline]
    show_full_result_count = False
