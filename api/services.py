"""Writes of the API app: making and revoking API keys (each on the change log, R12), and
noting a key's last use. Finding the key a request presents is here too: it is the one read
every call makes before anything else."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.utils.translation import gettext as _

from api.models import ApiKey
from core.actors import Actor
from core.models import ChangeAction
from core.services import change_record

# A key reads "bo_<prefix>_<secret>": the prefix finds it, the secret (256 bits) proves it.
KEY_START = "bo_"
# How stale "last used" may be: one write a minute per key at most, however busy.
LAST_USE_RESOLUTION = timedelta(minutes=1)


class ApiKeyRefused(ValueError):
    """A key that cannot be made or revoked as asked; the message says why."""


def _digest(presented: str) -> str:
    return hashlib.sha256(presented.encode("utf-8")).hexdigest()


def api_key_create(
    *,
    integration: str,
    description: str,
    can_check: bool,
    can_record: bool,
    by: Actor,
    now: datetime,
) -> tuple[ApiKey, str]:
    """Make a key for `integration`; returns it and the key itself, which is shown once and
    never stored (only its SHA-256)."""
    if by.is_job or not by.may("api.add_apikey"):
        raise ApiKeyRefused(_("%(label)s may not make API keys") % {"label": by.label})
    if not (can_check or can_record):
        raise ApiKeyRefused(_("a key needs a scope: checking addresses, recording, or both"))
    prefix = secrets.token_hex(6)
    presented = f"{KEY_START}{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        key = ApiKey.objects.create(
            integration=integration,
            description=description.strip(),
            prefix=prefix,
            digest=_digest(presented),
            can_check=can_check,
            can_record=can_record,
            created_at=now,
            created_by=by.user,
        )
        change_record(
            entry=key,
            action=ChangeAction.CREATED,
            changes=[["scopes", "", ", ".join(key.scopes)]],
            reason=description.strip(),
            by=by,
            now=now,
        )
    return key, presented


def api_key_revoke(*, key: ApiKey, reason: str, by: Actor, now: datetime) -> bool:
    """Revoke `key`: from now on it answers 401 like any wrong key. False when it already was."""
    if by.is_job or not by.may("api.revoke_apikey"):
        raise ApiKeyRefused(_("%(label)s may not revoke API keys") % {"label": by.label})
    if not reason.strip():
        raise ApiKeyRefused(_("say why the key is revoked"))
    with transaction.atomic():
        locked = ApiKey.objects.select_for_update().get(pk=key.pk)
        if locked.revoked_at is not None:
            return False
        locked.revoked_at, locked.revoked_by = now, by.user
        locked.save(update_fields=["revoked_at", "revoked_by"])
        change_record(
            entry=locked,
            action=ChangeAction.RETIRED,
            changes=[["revoked", "no", "yes"]],
            reason=reason.strip(),
            by=by,
            now=now,
        )
    return True


def api_key_for(*, presented: str) -> ApiKey | None:
    """The active key `presented` is, or None (malformed, unknown, wrong secret, revoked): the
    caller cannot tell which."""
    if not presented.startswith(KEY_START) or len(presented) > 200:
        return None
    prefix, _sep, secret = presented[len(KEY_START) :].partition("_")
    if not prefix or not secret:
        return None
    key = ApiKey.objects.filter(prefix=prefix).first()
    if key is None or not hmac.compare_digest(key.digest, _digest(presented)):
        return None
    return key if key.revoked_at is None else None


def api_key_used(*, key: ApiKey, now: datetime) -> None:
    """Note that `key` was used at `now` (to the minute: a conditional update, no lock)."""
    if key.last_used_at is not None and now - key.last_used_at < LAST_USE_RESOLUTION:
        return
    ApiKey.objects.filter(pk=key.pk).exclude(last_used_at__gte=now - LAST_USE_RESOLUTION).update(
        last_used_at=now
    )
