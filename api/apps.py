from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    """The suppression list as a service for the provider's sending platform: the bulk check
    and the record API (API keys), and the mail providers' bounce and complaint webhooks."""

    name = "api"
    verbose_name = _("Sending platform API")
