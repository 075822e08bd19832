from importlib import import_module

from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class JobsConfig(AppConfig):
    """Scheduled jobs: the registry, their run records, and `manage.py runjob`."""

    name = "jobs"
    verbose_name = _("Scheduled jobs")

    def ready(self) -> None:
        # Each app declares its jobs in its own `jobs.py`; importing them fills the registry.
        autodiscover_modules("jobs")
        # The Celery tasks that run them, so jobs.services can send a batch by the task's name.
        import_module("jobs.tasks")
