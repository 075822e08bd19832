from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The shared bottom: append-only records, the change log of catalogue entries."""

    name = "core"
    verbose_name = "Core"
