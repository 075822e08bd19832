"""Figures kept for the staff dashboard."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class StateSnapshot(models.Model):
    """How many accounts were in a state at the end of a month (the dashboard's history)."""

    month = models.DateField(help_text=_("First day of the month"), verbose_name=_("month"))
    status = models.CharField(max_length=16, verbose_name=_("status"))
    accounts = models.PositiveIntegerField(verbose_name=_("accounts"))
    taken_at = models.DateTimeField(verbose_name=_("taken at"))

    class Meta:
        verbose_name = _("state snapshot")
        verbose_name_plural = _("state snapshots")
        constraints = [
            models.UniqueConstraint(fields=["month", "status"], name="snapshot_month_status")
        ]
        ordering = ["month", "status"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.status}: {self.accounts}"
