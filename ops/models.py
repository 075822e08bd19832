from django.db import models
from django.utils.translation import gettext_lazy as _


class Heartbeat(models.Model):
    """When a process that must keep running (beat) last said it is alive."""

    name = models.CharField(max_length=60, primary_key=True, verbose_name=_("name"))
    at = models.DateTimeField(verbose_name=_("at"))

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self) -> str:
        return f"{self.name} heard at {self.at:%Y-%m-%d %H:%M:%S} UTC"
