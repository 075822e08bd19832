from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplianceConfig(AppConfig):
    """Unsubscribe lists kept forever, CAN-SPAM hand-over exports, retention and purge."""

    name = "compliance"
    verbose_name = _("Compliance")
