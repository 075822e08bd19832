from django.db import models


class Heartbeat(models.Model):
    """When a process that must keep running (beat) last said it is alive."""

    name = models.CharField(max_length=60, primary_key=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} heard at {self.at:%Y-%m-%d %H:%M:%S} UTC"
