"""Settings of the accounts app, with defaults; override in the environment via settings.

Unsubscribe links have no setting: they never expire (SPEC "Unsubscribe links keep working").
"""

from __future__ import annotations

from django.conf import settings


def public_rate(name: str) -> str:
    """A public endpoint's rate limit, e.g. SIGNUP_RATE_PER_ADDRESS = "10/m" (README)."""
    defaults = {
        "SIGNUP_RATE_PER_ADDRESS": "10/m",
        "SIGNUP_RATE_PER_FORM": "120/m",
        "UNSUBSCRIBE_RATE_PER_ADDRESS": "600/m",
        "CONFIRM_RATE_PER_ADDRESS": "20/m",
        "FILES_RATE_PER_ADDRESS": "600/m",
    }
    return str(getattr(settings, name, defaults[name]))
