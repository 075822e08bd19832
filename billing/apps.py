from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    """Plans, cards on file, prepaid balances, the ledger and the billing run."""

    name = "billing"
    verbose_name = _("Billing")
