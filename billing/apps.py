from django.apps import AppConfig


class BillingConfig(AppConfig):
    """Plans, cards on file, prepaid balances, the ledger and the billing run."""

    name = "billing"
    verbose_name = "Billing"
