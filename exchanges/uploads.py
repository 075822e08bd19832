"""Reading a manager's CSV upload, refusing what cannot be imported before anything is written:
too large, not UTF-8, no key column, repeated keys, rows that do not fit the header."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

import tablib
from django.utils.translation import gettext_noop

from core.csvsafe import restore
from core.problems import Problem

# Excel saves .xlsx as a zip archive; a manager who picked the workbook gets told so.
ZIP_MAGIC = b"PK\x03\x04"
EXAMPLES = 5


class UploadRefused(ValueError):
    """The file as a whole cannot be imported; nothing was written. The message (a Problem,
    kept in no language until shown) says why."""

    def __init__(self, message: Problem, row_errors: list[dict] | None = None) -> None:
        super().__init__(message)
        self.problem = message
        self.row_errors = row_errors or []


def row_error(line: int | str, key: str, column: str, error: Problem) -> dict:
    """One row error as an import keeps it: the file's line, the row's key, the column (as
    the file names it) and the problem, kept in no language (core.problems)."""
    return {"line": line, "key": key, "column": column, "error": error.as_json()}


@dataclass
class ParsedFile:
    """A decoded CSV upload: its rows as a dataset plus the file line of each row."""

    name: str
    size: int
    raw: bytes
    dataset: tablib.Dataset
    lines: list[int]
    keys: list[str] = field(default_factory=list)
    # Rows refused while reading (too many cells, no key, a repeated key), with their lines;
    # they are not in `dataset`, and the file is refused with the other rows' errors.
    refused_rows: list[dict] = field(default_factory=list)

    def line_of(self, row_number: int) -> int:
        """The file line of the dataset's row ``row_number`` (1-based, as import-export counts)."""
        return self.lines[row_number - 1] if 0 < row_number <= len(self.lines) else row_number


def normalise_header(name: str) -> str:
    """``Primary Email`` → ``primary_email``: managers' spreadsheets title their columns."""
    return re.sub(r"[\s\-]+", "_", name.strip().lstrip("\ufeff").strip().lower())


def size_text(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB" if n >= 1024 * 1024 else f"{n} bytes"


def decode(raw: bytes) -> str:
    """UTF-8 with or without a byte-order mark; anything else is refused by name."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if raw.startswith(ZIP_MAGIC):
            raise UploadRefused(
                Problem(
                    gettext_noop(
                        "the file is an Excel workbook (.xlsx), not a CSV file; in Excel use "
                        "File → Save As → 'CSV UTF-8 (Comma delimited)' and upload that"
                    )
                )
            ) from exc
        raise UploadRefused(
            Problem(
                gettext_noop(
                    "the file is not UTF-8 (byte %(byte)s at position %(position)s); it was "
                    "probably saved as Windows-1252 or Latin-1. Save it as 'CSV UTF-8' and "
                    "upload it again"
                ),
                byte=f"0x{raw[exc.start]:02x}",
                position=exc.start,
            )
        ) from exc


def _delimiter(header_line: str) -> str:
    # Spreadsheets in many European locales save CSV with semicolons.
    if header_line.count(";") > header_line.count(","):
        return ";"
    if header_line.count("\t") > header_line.count(","):
        return "\t"
    return ","


def parse_csv(*, raw: bytes, name: str, key_column: str) -> ParsedFile:
    """Decode and check a CSV file's bytes (the upload, or the stored file at confirmation)."""
    text = decode(raw)
    if not text.strip():
        raise UploadRefused(Problem(gettext_noop("the file is empty")))
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line))
    try:
        header = [normalise_header(h) for h in next(reader)]
    except csv.Error as exc:
        raise UploadRefused(
            Problem(
                gettext_noop("the header line cannot be read as CSV: %(error)s"), error=str(exc)
            )
        ) from exc
    seen: set[str] = set()
    for column in header:
        if column and column in seen:
            raise UploadRefused(
                Problem(
                    gettext_noop("the column '%(column)s' appears twice in the header"),
                    column=column,
                )
            )
        seen.add(column)
    if key_column not in header:
        found = ", ".join(f"'{h}'" for h in header if h) or Problem(gettext_noop("none"))
        raise UploadRefused(
            Problem(
                gettext_noop(
                    "the file has no '%(column)s' column (columns found: %(found)s); every row "
                    "needs its %(column)s to find the record it changes"
                ),
                column=key_column,
                found=found,
            )
        )
    key_index = header.index(key_column)
    rows: list[list[str]] = []
    lines: list[int] = []
    refused: list[dict] = []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            # The line the row ends on, as the file counts it (header 1, blank lines too).
            line = reader.line_num
            if len(row) > len(header) and any(c.strip() for c in row[len(header) :]):
                # Reported with the other rows' errors, not alone: one upload shows them all.
                refused.append(
                    row_error(
                        line,
                        row[key_index].strip() if key_index < len(row) else "",
                        "",
                        Problem(
                            gettext_noop(
                                "line %(line)s has %(cells)s cells but the header has "
                                "%(header)s: a value with a comma is probably missing its quotes"
                            ),
                            line=line,
                            cells=len(row),
                            header=len(header),
                        ),
                    )
                )
                continue
            cells = [restore(c.strip()) for c in row[: len(header)]]
            cells += [""] * (len(header) - len(cells))
            rows.append(cells)
            lines.append(line)
    except csv.Error as exc:
        raise UploadRefused(
            Problem(
                gettext_noop("line %(line)s cannot be read as CSV: %(error)s"),
                line=reader.line_num,
                error=str(exc),
            ),
            row_errors=refused,
        ) from exc
    if not rows and not refused:
        raise UploadRefused(Problem(gettext_noop("the file has a header but no rows")))
    rows, lines, bad_keys = _without_bad_keys(rows, lines, key_index, key_column)
    refused.extend(bad_keys)
    refused.sort(key=lambda e: e["line"])
    dataset = tablib.Dataset(*rows, headers=header)
    return ParsedFile(
        name=name,
        size=len(raw),
        raw=raw,
        dataset=dataset,
        lines=lines,
        keys=[r[key_index] for r in rows],
        refused_rows=refused,
    )


def _without_bad_keys(
    rows: list[list[str]], lines: list[int], index: int, column: str
) -> tuple[list[list[str]], list[int], list[dict]]:
    """The rows with a key seen once so far (a repeated key's first row stays and is checked
    like any other), and an error for each row without a key or repeating one."""
    first_line: dict[str, int] = {}
    errors: list[dict] = []
    kept_rows, kept_lines = [], []
    for cells, line in zip(rows, lines, strict=True):
        key = cells[index]
        if not key:
            errors.append(
                row_error(line, "", column, Problem(gettext_noop("no %(column)s"), column=column))
            )
        elif key in first_line:
            errors.append(
                row_error(
                    line,
                    key,
                    column,
                    Problem(
                        gettext_noop("%(column)s '%(key)s' repeated (first on line %(first)s)"),
                        column=column,
                        key=key,
                        first=first_line[key],
                    ),
                )
            )
        else:
            first_line[key] = line
            kept_rows.append(cells)
            kept_lines.append(line)
    return kept_rows, kept_lines, errors


def refused_rows_message(errors: list[dict]) -> Problem:
    """The rows refused while reading the file, with their lines (the first few)."""
    shown = [
        Problem(gettext_noop("line %(line)s: %(error)s"), line=e["line"], error=e["error"])
        for e in errors[:EXAMPLES]
    ]
    if len(errors) > EXAMPLES:
        return Problem(
            gettext_noop(
                "%(count)s row(s) cannot be read as they are (%(rows)s and %(more)s more)"
            ),
            count=len(errors),
            rows=shown,
            more=len(errors) - EXAMPLES,
        )
    return Problem(
        gettext_noop("%(count)s row(s) cannot be read as they are (%(rows)s)"),
        count=len(errors),
        rows=shown,
    )
