"""Recognising and reading the unsubscribe lists other providers export.

- providers.py: each provider's layouts from their documented columns (which rows are
  suppressed, with which date, reason and words);
- recognise.py: which layout a file is, from its first line and its name;
- mapping.py: the mapping step for files no layout matches;
- reader.py: opening a file (CSV in any delimiter, with a BOM or not; SES's JSON) and handing
  out its rows;
- dates.py: dates in every form the providers write.
"""

from compliance.layouts.base import (
    EVIDENCE_MAX_CHARS,
    FileRefused,
    Layout,
    MappingNeeded,
    Verdict,
    cell,
    reason_from_words,
)
from compliance.layouts.dates import parse_date, parse_seconds
from compliance.layouts.mapping import ColumnMapping
from compliance.layouts.providers import CHOOSABLE, NAMES
from compliance.layouts.reader import ListFile
from compliance.layouts.recognise import build, recognise

__all__ = [
    "CHOOSABLE",
    "EVIDENCE_MAX_CHARS",
    "NAMES",
    "ColumnMapping",
    "FileRefused",
    "Layout",
    "ListFile",
    "MappingNeeded",
    "Verdict",
    "build",
    "cell",
    "parse_date",
    "parse_seconds",
    "reason_from_words",
    "recognise",
]
