"""Streaming CSV exports of large tables (accounts, cancellation requests, ledger, job runs).

The rows go out as they are read, a chunk of the queryset at a time, so a million accounts
never sit in memory; every cell is neutralised for spreadsheets (core.csvsafe)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from core.csvsafe import neutralise
from exchanges import conf

# Rows joined into one piece of the response: fewer, larger writes to the socket.
ROWS_PER_PIECE = 500


@dataclass(frozen=True)
class Column:
    """One column of an export: its header and where its value comes from (a dotted attribute
    path, or a function of the row)."""

    header: str
    source: str | Callable[[Any], Any] = ""

    def value(self, obj: Any) -> Any:
        source = self.source or self.header
        if callable(source):
            return source(obj)
        value = obj
        for part in source.split("."):
            value = getattr(value, part, None)
            if value is None:
                return None
        return value


class StreamingExport:
    """A CSV export of a model's rows; subclasses name the columns."""

    filename: str = "export"
    columns: tuple[Column, ...] = ()
    select_related: tuple[str, ...] = ()

    def prepare(self, queryset: QuerySet) -> QuerySet:
        if self.select_related:
            queryset = queryset.select_related(*self.select_related)
        return queryset

    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    def rows(self, queryset: QuerySet) -> Iterator[list[str]]:
        for obj in self.prepare(queryset).iterator(chunk_size=conf.export_chunk_size()):
            yield [neutralise(column.value(obj)) for column in self.columns]


class _Echo:
    """A file-like object whose write hands the line back, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def stream_csv(*, export: StreamingExport, queryset: QuerySet, now: datetime):
    """The export as a streaming download, UTF-8 with a byte-order mark so that spreadsheets
    read accented names right."""
    writer = csv.writer(_Echo())

    def pieces() -> Iterator[str]:
        # Headers too: the row errors' columns are the uploaded file's own header names.
        yield "\ufeff" + writer.writerow([neutralise(h) for h in export.headers()])
        piece: list[str] = []
        for row in export.rows(queryset):
            piece.append(writer.writerow(row))
            if len(piece) >= ROWS_PER_PIECE:
                yield "".join(piece)
                piece = []
        if piece:
            yield "".join(piece)

    response = StreamingHttpResponse(pieces(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{export.filename}-{now:%Y%m%d-%H%M}.csv"'
    )
    return response
