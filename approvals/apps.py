from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApprovalsConfig(AppConfig):
    """Second-person sign-off ("four eyes") of what cannot be undone or weakens compliance."""

    name = "approvals"
    verbose_name = _("Sign-offs")
