"""Celery tasks: large admin imports are read outside the web request."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from compliance.services.import_runs import suppression_import_apply, suppression_import_preview


@shared_task(name="compliance.import_preview")
def import_preview(record_id: int) -> str:
    return suppression_import_preview(record_id=record_id, now=timezone.now()).status


@shared_task(name="compliance.import_apply")
def import_apply(record_id: int) -> str:
    return suppression_import_apply(record_id=record_id, now=timezone.now()).status
