from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    """Customer accounts: lifecycle, the cancellation desk, the public endpoints."""

    name = "accounts"
    verbose_name = _("Accounts")
