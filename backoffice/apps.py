from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class BackofficeConfig(AppConfig):
    """Project-wide pieces: staff roles, demo data, the admin site's look."""

    name = "backoffice"
    verbose_name = _("Back office")

    def ready(self) -> None:
        from backoffice import checks  # noqa: F401 - registers the deployment checks


class StaffAdminConfig(admin_apps.AdminConfig):
    """Django's admin, on the site that asks the roles that need it for a second factor
    (named in INSTALLED_APPS in place of django.contrib.admin)."""

    default = False
    default_site = "backoffice.twofactor.StaffAdminSite"
