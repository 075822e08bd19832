"""Figures kept for the staff dashboard."""

from django.db import models


class StateSnapshot(models.Model):
    """How many accounts were in a state at the end of a month (the dashboard's history)."""

    month = models.DateField(help_text="First day of the month")
    status = models.CharField(max_length=16)
    accounts = models.PositiveIntegerField()
    taken_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["month", "status"], name="snapshot_month_status")
        ]
        ordering = ["month", "status"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.status}: {self.accounts}"
