"""Reading a manager's CSV upload, refusing what cannot be imported before anything is written:
too large, not UTF-8, no key column, repeated keys, rows that do not fit the header."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

import tablib

from core.csvsafe import restore

# Excel saves .xlsx as a zip archive; a manager who picked the workbook gets told so.
ZIP_MAGIC = b"PK\x03\x04"
EXAMPLES = 5


class UploadRefused(ValueError):
    """The file as a whole cannot be imported; nothing was written. The message says why."""

    def __init__(self, message: str, row_errors: list[dict] | None = None) -> None:
        super().__init__(message)
        self.row_errors = row_errors or []


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
                "the file is an Excel workbook (.xlsx), not a CSV file; in Excel use "
                "File → Save As → 'CSV UTF-8 (Comma delimited)' and upload that"
            ) from exc
        raise UploadRefused(
            f"the file is not UTF-8 (byte 0x{raw[exc.start]:02x} at position {exc.start}); "
            "it was probably saved as Windows-1252 or Latin-1. Save it as 'CSV UTF-8' and "
            "upload it again"
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
        raise UploadRefused("the file is empty")
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line))
    try:
        header = [normalise_header(h) for h in next(reader)]
    except csv.Error as exc:
        raise UploadRefused(f"the header line cannot be read as CSV: {exc}") from exc
    seen: set[str] = set()
    for column in header:
        if column and column in seen:
            raise UploadRefused(f"the column '{column}' appears twice in the header")
        seen.add(column)
    if key_column not in header:
        found = ", ".join(f"'{h}'" for h in header if h) or "none"
        raise UploadRefused(
            f"the file has no '{key_column}' column (columns found: {found}); every row needs "
            f"its {key_column} to find the record it changes"
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
                    {
                        "line": line,
                        "key": row[key_index].strip() if key_index < len(row) else "",
                        "column": "",
                        "error": f"line {line} has {len(row)} cells but the header has "
                        f"{len(header)}: a value with a comma is probably missing its quotes",
                    }
                )
                continue
            cells = [restore(c.strip()) for c in row[: len(header)]]
            cells += [""] * (len(header) - len(cells))
            rows.append(cells)
            lines.append(line)
    except csv.Error as exc:
        raise UploadRefused(
            f"line {reader.line_num} cannot be read as CSV: {exc}", row_errors=refused
        ) from exc
    if not rows and not refused:
        raise UploadRefused("the file has a header but no rows")
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
            errors.append({"line": line, "key": "", "column": column, "error": f"no {column}"})
        elif key in first_line:
            errors.append(
                {
                    "line": line,
                    "key": key,
                    "column": column,
                    "error": f"{column} '{key}' repeated (first on line {first_line[key]})",
                }
            )
        else:
            first_line[key] = line
            kept_rows.append(cells)
            kept_lines.append(line)
    return kept_rows, kept_lines, errors


def refused_rows_message(errors: list[dict]) -> str:
    """The rows refused while reading the file, with their lines (the first few)."""
    shown = "; ".join(f"line {e['line']}: {e['error']}" for e in errors[:EXAMPLES])
    more = f" and {len(errors) - EXAMPLES} more" if len(errors) > EXAMPLES else ""
    return f"{len(errors)} row(s) cannot be read as they are ({shown}{more})"
