from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Customer accounts: lifecycle, the cancellation desk, the public endpoints."""

    name = "accounts"
    verbose_name = "Accounts"
