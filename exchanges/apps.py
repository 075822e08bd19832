from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangesConfig(AppConfig):
    """Managers' CSV imports and exports: preview, confirm, and a record of every import."""

    name = "exchanges"
    verbose_name = _("CSV exchanges")
