"""Deployment checks of the project (`manage.py check --deploy`)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def database_roles(app_configs, **kwargs) -> list[Warning]:
    """Production on PostgreSQL with one role for everything: the role that runs `migrate`
    owns the tables, and an owner can disable or drop the append-only triggers (R12)."""
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        return []
    if settings.MIGRATION_DATABASE:
        return []
    return [
        Warning(
            "DATABASE_URL's role also runs migrate, so the web processes, workers and beat "
            "connect as the owner of the tables, which can disable the append-only triggers.",
            hint="Create the two roles with `manage.py database_roles`; set DATABASE_URL to "
            "the app role and MIGRATION_DATABASE_URL to the migrator (README, Database roles).",
            id="backoffice.W001",
        )
    ]
