"""Opening an uploaded list: checks that it is text, finds its delimiter, skips blank lines,
recognises its layout (or takes the one chosen, or a column mapping), then hands out its rows
with their line numbers, in constant memory whatever the file's size.

Amazon SES's suppression list arrives as JSON (`aws sesv2 list-suppressed-destinations`,
one object holding every page); it is read object by object, never whole.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from collections.abc import Iterator
from typing import BinaryIO

from django.utils.translation import gettext_noop

from compliance.layouts.base import FileRefused, Layout
from compliance.layouts.mapping import ColumnMapping
from compliance.layouts.providers import SES_REASONS
from compliance.layouts.recognise import build, recognise
from core.problems import Problem

HEAD_BYTES = 64 * 1024
# Rows read ahead for recognition and for the mapping step's example values.
SAMPLE_ROWS = 20
_JSON_CHUNK = 64 * 1024
# One suppressed destination is a few hundred bytes; anything far larger is not one.
_JSON_ENTRY_MAX = 1024 * 1024
_SES_ARRAY = re.compile(r'"SuppressedDestinationSummaries"\s*:\s*\[')

Row = tuple[int, list[str]]


EMPTY = gettext_noop("the file is empty: no line with an address")
NOT_UTF8 = gettext_noop("the file is not UTF-8 text (near line %(line)s); save it as CSV UTF-8")


def _check_head(head: bytes) -> None:
    if not head.strip(b" \t\r\n\xef\xbb\xbf"):
        raise FileRefused(Problem(EMPTY))
    if b"\x00" in head:
        raise FileRefused(
            Problem(
                gettext_noop(
                    "this is not a text file (it contains binary data); export the list as CSV"
                )
            )
        )
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A character cut at the end of the sample is fine; anything else is not UTF-8.
        if not (len(head) == HEAD_BYTES and exc.start >= len(head) - 3):
            raise FileRefused(
                Problem(
                    gettext_noop(
                        "the file is not UTF-8 text (byte %(byte)s); save it as CSV UTF-8"
                    ),
                    byte=exc.start + 1,
                )
            ) from None


def _delimiter(head: bytes) -> str:
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n").split(b"\n", 1)[0]
    if b"," not in first:
        if b";" in first:
            return ";"
        if b"\t" in first:
            return "\t"
    return ","


def _blank(row: list[str]) -> bool:
    if row and row[0].strip():  # the common case: a first cell
        return False
    return not any(cell.strip() for cell in row)


SES_JSON = Layout(
    key="ses_json",
    email=0,
    status=1,
    statuses=SES_REASONS,
    date=2,
    evidence=(("Reason", 1),),
    has_header=False,
    because=gettext_noop(
        "JSON with SuppressedDestinationSummaries: the output of aws sesv2 "
        "list-suppressed-destinations (Reason BOUNCE or COMPLAINT, LastUpdateTime)"
    ),
)
SES_JSON_LINES = Layout(
    key="ses_json_lines",
    email=0,
    status=1,
    statuses=SES_REASONS,
    evidence=(("reason", 1),),
    has_header=False,
    because=gettext_noop(
        "one JSON object per line with emailAddress and reason: SES's bulk format"
    ),
)


def _ses_row(entry) -> list[str]:
    if not isinstance(entry, dict):
        return ["", "", ""]
    email = entry.get("EmailAddress", entry.get("emailAddress", ""))
    reason = entry.get("Reason", entry.get("reason", ""))
    moment = entry.get("LastUpdateTime", entry.get("lastUpdateTime", ""))
    return [str(email or ""), str(reason or ""), str(moment if moment is not None else "")]


class ListFile:
    """An uploaded list opened for reading: `layout`, then `rows()`. Use as a context manager;
    the caller's binary stream stays open."""

    def __init__(
        self,
        stream: BinaryIO,
        *,
        file_name: str,
        layout: str = "",
        mapping: ColumnMapping | None = None,
    ):
        self.stream = stream
        self.file_name = file_name
        self.chosen = layout
        self.mapping = mapping
        self.layout: Layout
        self._text: io.TextIOWrapper | None = None
        self._rows: Iterator[Row]

    def __enter__(self) -> ListFile:
        head = self.stream.read(HEAD_BYTES)
        _check_head(head)
        self.stream.seek(0)
        self._text = io.TextIOWrapper(self.stream, encoding="utf-8-sig", newline="")
        start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
        if start in (b"{", b"[") and not self.mapping and not self.chosen:
            self._open_json(head)
        else:
            self._open_csv(head)
        return self

    def __exit__(self, *exc_info) -> None:
        if self._text is not None:
            self._text.detach()
            self._text = None

    def rows(self) -> Iterator[Row]:
        """(line, cells) of every row that is not blank, header excluded."""
        return self._rows

    # --- CSV -------------------------------------------------------------------------------

    def _open_csv(self, head: bytes) -> None:
        assert self._text is not None
        reader = csv.reader(self._text, delimiter=_delimiter(head))
        lines = self._csv_rows(reader)
        header_line, header = next(lines, (0, []))
        if not header:
            raise FileRefused(Problem(EMPTY))
        sample: list[Row] = []
        for item in lines:
            sample.append(item)
            if len(sample) >= SAMPLE_ROWS:
                break
        if self.mapping is not None:
            layout = self.mapping.layout(header)
        elif self.chosen:
            layout = build(self.chosen, header)
        else:
            layout = recognise(header, self.file_name, [row for _, row in sample])
        self.layout = layout

        # Chained, not a generator that yields from each: a million-row list passes one row
        # at a time through every layer here.
        first: list[Row] = [] if layout.has_header else [(header_line, header)]
        self._rows = itertools.chain(first, sample, lines)

    def _csv_rows(self, reader) -> Iterator[Row]:
        line = 0
        try:
            last = reader.line_num
            for row in reader:
                line = last + 1
                last = reader.line_num
                # A blank line (or one of empty cells) is no row: not counted, not rejected.
                # (The common case, a first cell, checked here without a call.)
                if (row and row[0].strip()) or not _blank(row):
                    yield line, row
        except UnicodeDecodeError:
            raise FileRefused(Problem(NOT_UTF8, line=line + 1)) from None
        except csv.Error as exc:
            raise FileRefused(
                Problem(
                    gettext_noop("line %(line)s cannot be read as CSV: %(error)s"),
                    line=line + 1,
                    error=str(exc),
                )
            ) from None

    # --- Amazon SES JSON -------------------------------------------------------------------

    def _open_json(self, head: bytes) -> None:
        text = head.decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n")
        if _SES_ARRAY.search(text) or text.startswith("["):
            self.layout = SES_JSON
            self._rows = self._json_array()
            return
        first = text.split("\n", 1)[0]
        try:
            entry = json.loads(first)
        except ValueError:
            entry = None
        if isinstance(entry, dict) and ({"emailAddress", "EmailAddress"} & set(entry)):
            self.layout = SES_JSON_LINES
            self._rows = self._json_lines()
            return
        raise FileRefused(
            Problem(
                gettext_noop(
                    "a JSON file, but not Amazon SES's suppression list: expected the output "
                    "of aws sesv2 list-suppressed-destinations (SuppressedDestinationSummaries) "
                    "or one object per line with emailAddress and reason"
                )
            )
        )

    def _json_array(self) -> Iterator[Row]:
        assert self._text is not None
        text, decoder = self._text, json.JSONDecoder()
        buffer, pos, line, done = "", 0, 1, False

        def more() -> bool:
            nonlocal buffer, pos, line, done
            if done:
                return False
            if pos > _JSON_CHUNK:
                line += buffer.count("\n", 0, pos)
                buffer, pos = buffer[pos:], 0
            try:
                chunk = text.read(_JSON_CHUNK)
            except UnicodeDecodeError:
                raise FileRefused(Problem(NOT_UTF8, line=line)) from None
            done = not chunk
            buffer += chunk
            return bool(chunk)

        def refuse(what: str | Problem):
            at = line + buffer.count("\n", 0, pos)
            return FileRefused(
                Problem(
                    gettext_noop("line %(line)s cannot be read as JSON: %(error)s"),
                    line=at,
                    error=what,
                )
            )

        # Up to the array of summaries (or the top-level array).
        while True:
            found = _SES_ARRAY.search(buffer)
            if found:
                pos = found.end()
                break
            stripped = buffer.lstrip("\ufeff \t\r\n")
            if stripped.startswith("["):
                pos = len(buffer) - len(stripped) + 1
                break
            if not more():
                raise refuse(Problem(gettext_noop("no SuppressedDestinationSummaries array")))
        while True:
            while True:
                while pos < len(buffer) and buffer[pos] in " \t\r\n,":
                    pos += 1
                if pos < len(buffer) or not more():
                    break
            if pos >= len(buffer):
                raise refuse(
                    Problem(gettext_noop("the array of suppressed destinations is not closed"))
                )
            if buffer[pos] == "]":
                return
            try:
                entry, end = decoder.raw_decode(buffer, pos)
            except json.JSONDecodeError as exc:
                if len(buffer) - pos < _JSON_ENTRY_MAX and more():
                    continue
                raise refuse(exc.msg) from None
            at = line + buffer.count("\n", 0, pos)
            pos = end
            yield at, _ses_row(entry)

    def _json_lines(self) -> Iterator[Row]:
        assert self._text is not None
        for number, text in enumerate(self._text, start=1):
            if not text.strip():
                continue
            try:
                entry = json.loads(text)
            except ValueError:
                entry = None
            if entry is None:
                yield number, [text.strip()[:80], "", ""]
            else:
                yield number, _ses_row(entry)
