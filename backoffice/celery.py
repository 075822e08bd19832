"""The Celery application: broker and beat come from settings (CELERY_*); workers and beat
log through the project's LOGGING (LOG_FORMAT), not Celery's own set-up."""

import os

from celery import Celery
from celery.signals import setup_logging

from ops.logs import celery_setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

app = Celery("backoffice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Connected here, before any worker or beat configures its logging.
setup_logging.connect(celery_setup_logging, weak=False, dispatch_uid="backoffice.logging")
