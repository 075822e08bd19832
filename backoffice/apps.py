from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    """Project-wide pieces: staff roles, demo data, the admin site's look."""

    name = "backoffice"
    verbose_name = "Back office"
