"""Append-only records and their audit fields (R12), for every app.

A record of what happened (a timeline event, a ledger entry, a suppression) is written once and
never edited or deleted. The ORM refuses it here; on PostgreSQL the triggers of
``core.triggers`` refuse it for raw SQL too.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnlyQuerySet(models.QuerySet):
    """Refuses bulk edits and deletes: these rows are the record of what happened (R12)."""

    def update(self, **kwargs: Any) -> int:
        raise PermissionError(f"{self.model._meta.verbose_name} records cannot be edited (R12)")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError(f"{self.model._meta.verbose_name} records cannot be deleted (R12)")


class AppendOnlyModel(models.Model):
    """A record that is written once and never edited or deleted (R12)."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError(f"{self._meta.verbose_name} records cannot be edited (R12)")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError(f"{self._meta.verbose_name} records cannot be deleted (R12)")


class ByFields(models.Model):
    """Who made a record: a staff user or a scheduled job, exactly one (core.actors.Actor)."""

    by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("by"),
    )
    by_job = models.CharField(max_length=60, blank=True, verbose_name=_("by job"))

    class Meta:
        abstract = True

    @property
    def by(self) -> str:
        if self.by_job:
            return f"job {self.by_job}"
        return str(self.by_user) if self.by_user_id else "?"


class ChangeAction(models.TextChoices):
    CREATED = "created", _("Created")
    CHANGED = "changed", _("Changed")
    RETIRED = "retired", _("Retired")
    RESTORED = "restored", _("Offered again")


class ChangeRecord(AppendOnlyModel, ByFields):
    """One change to an entry that has no account timeline (a plan, an add-on, a cancellation
    reason): who, when, what changed (old → new) and why (R12)."""

    at = models.DateTimeField(db_index=True, verbose_name=_("at"))
    # The entry: its model ("billing.plan"), primary key, and how it read at the time.
    model = models.CharField(max_length=100, verbose_name=_("model"))
    object_id = models.CharField(max_length=64, verbose_name=_("entry id"))
    object_repr = models.CharField(max_length=200, verbose_name=_("entry"))
    action = models.CharField(max_length=10, choices=ChangeAction.choices, verbose_name=_("action"))
    # [[field, old, new], ...] as staff read them.
    changes = models.JSONField(default=list, verbose_name=_("changes"))
    reason = models.TextField(blank=True, verbose_name=_("reason"))

    class Meta:
        verbose_name = _("change record")
        verbose_name_plural = _("change records")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["model", "object_id", "-at"], name="change_entry_idx")]

    def __str__(self) -> str:
        return f"{self.object_repr}: {self.get_action_display()} at {self.at:%Y-%m-%d %H:%M}"

    @property
    def summary(self) -> str:
        return "; ".join(f"{field}: {old} → {new}" for field, old, new in self.changes)


class KeptQuerySet(models.QuerySet):
    """Refuses deleting: these entries are retired or archived, never deleted (R12)."""

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError(
            f"{self.model._meta.verbose_name_plural} are never deleted; retire them instead (R12)"
        )


class KeptModel(models.Model):
    """An entry other records name (an account, its billing, a plan, a reason): changed through
    its services, never deleted, by anyone (R12)."""

    objects = KeptQuerySet.as_manager()

    class Meta:
        abstract = True

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError(
            f"{self._meta.verbose_name} {self} is never deleted; retire it instead (R12)"
        )
