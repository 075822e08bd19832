from django.apps import AppConfig


class ExchangesConfig(AppConfig):
    """Managers' CSV imports and exports: preview, confirm, and a record of every import."""

    name = "exchanges"
    verbose_name = "CSV exchanges"
