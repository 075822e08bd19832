from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpsConfig(AppConfig):
    """Operating the system at a provider: metrics, health checks, error reporting, logs."""

    name = "ops"
    verbose_name = _("Operations")

    def ready(self) -> None:
        # Receivers: Celery task metrics and log context (ops.worker), error reporting's cron
        # monitors for the scheduled jobs (ops.monitors).
        from ops import monitors, worker  # noqa: F401
