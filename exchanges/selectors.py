"""Reads of the CSV exchanges' records."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from core.previews import preview_valid_for
from exchanges.models import WAITING, ImportRecord


def import_previews_expired_unmarked(*, as_of: datetime) -> QuerySet[ImportRecord]:
    """Previews still waiting although they expired (IMPORT_PREVIEW_EXPIRY_HOURS after the
    upload): the expire_import_previews job closes them."""
    return ImportRecord.objects.filter(status__in=WAITING, at__lte=as_of - preview_valid_for())
