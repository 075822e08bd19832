"""Celery tasks: large CSV imports are previewed and written outside the web request."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from exchanges.runs import apply_import, preview_import


@shared_task(name="exchanges.import_preview")
def import_preview(record_id: int) -> str:
    return preview_import(record_id=record_id, now=timezone.now()).status


@shared_task(name="exchanges.import_apply")
def import_apply(record_id: int) -> str:
    return apply_import(record_id=record_id, now=timezone.now()).status
