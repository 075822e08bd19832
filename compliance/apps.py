from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    """Unsubscribe lists kept forever, CAN-SPAM hand-over exports, retention and purge."""

    name = "compliance"
    verbose_name = "Compliance"
