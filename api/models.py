"""API keys of the sending platform's integrations.

A key is shown once, when it is made, and kept only as its SHA-256: it is 256 random bits,
so a fast hash is as safe as a slow one and costs nothing per call. It is found by its
prefix (shown, not secret), then compared in constant time. Keys are revoked, never
deleted: the change log says who made and who revoked each, and why."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import KeptModel


class ApiScope(models.TextChoices):
    CHECK = "check", _("Check addresses before a send")
    RECORD = "record", _("Record unsubscribes")


class ApiKey(KeptModel):
    """A key one integration of the sending platform calls the suppression API with, scoped
    to checking, recording or both."""

    integration = models.SlugField(
        _("integration"),
        max_length=50,
        help_text=_("Which part of the sending platform uses the key, e.g. mta-eu-1"),
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    prefix = models.CharField(_("prefix"), max_length=20, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False, verbose_name=_("digest"))
    can_check = models.BooleanField(_("may check"), default=False)
    can_record = models.BooleanField(_("may record"), default=False)
    created_at = models.DateTimeField(_("created at"), editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        verbose_name=_("created by"),
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        verbose_name=_("revoked by"),
    )
    # Written at most once a minute (api.services.api_key_used): a busy key is not a hot row.
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["integration", "-created_at"]
        permissions = [("revoke_apikey", "Can revoke an API key of the sending platform")]

    def __str__(self) -> str:
        return f"{self.integration} ({self.prefix}…)"

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def scopes(self) -> list[str]:
        return [
            scope
            for scope, allowed in (
                (ApiScope.CHECK, self.can_check),
                (ApiScope.RECORD, self.can_record),
            )
            if allowed
        ]
