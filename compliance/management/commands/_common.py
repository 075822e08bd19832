"""Shared by the compliance commands."""

from __future__ import annotations

import getpass

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from accounts.models import Account
from core.actors import Actor


def account_by_username(username: str) -> Account:
    try:
        return Account.objects.get(username=username)
    except Account.DoesNotExist:
        raise CommandError(
            _("no account with username %(username)s; nothing was written")
            % {"username": repr(username)}
        ) from None


def command_actor(command: str) -> Actor:
    """Who ran a command: recorded as the command and the operating-system user."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        user = "unknown"
    return Actor.system(f"{command} ({user})"[:60])
