"""Staff login throttling (django-axes) with a second limit: one address trying many usernames.

Axes locks a username and address pair out after LOGIN_FAILURE_LIMIT wrong passwords (one
mistyping agent does not lock out the office behind the same address). Password spraying
tries one password on many usernames and stays under that limit for each; so an address is
also locked out, for every username, after LOGIN_ADDRESS_FAILURE_LIMIT wrong passwords within
the lockout time, whatever usernames they were for.
"""

from __future__ import annotations

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.db.models import Sum


class StaffLoginHandler(AxesDatabaseHandler):
    """django-axes' database handler, plus the lockout of an address across usernames."""

    def address_failures(self, request) -> int:
        """Wrong passwords from the request's address within the lockout time, any username."""
        attempts = AccessAttempt.objects.filter(ip_address=request.axes_ip_address)
        if settings.AXES_COOLOFF_TIME is not None:
            attempts = attempts.filter(attempt_time__gte=get_cool_off_threshold(request))
        return attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0

    def address_locked(self, request) -> bool:
        return self.address_failures(request) >= settings.LOGIN_ADDRESS_FAILURE_LIMIT

    def is_locked(self, request, credentials=None) -> bool:
        return super().is_locked(request, credentials) or self.address_locked(request)

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is None or getattr(request, "axes_locked_out", False):
            return
        if self.is_whitelisted(request, credentials) or not self.address_locked(request):
            return
        request.axes_locked_out = True
        request.axes_credentials = credentials
        user_locked_out.send(
            "axes",
            request=request,
            username=get_client_username(request, credentials),
            ip_address=request.axes_ip_address,
        )
