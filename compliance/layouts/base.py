"""What a layout is: which column holds the address, which rows the provider marks as not to
be mailed, and the date, reason and the provider's own words each row carries."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from django.utils.translation import gettext_noop

from compliance.models import SuppressionReason
from core.problems import Problem, problem_of

R = SuppressionReason

# Provider's words kept per row as evidence: enough for "550 5.1.1 mailbox unknown" and a
# campaign title, bounded because the history holds hundreds of millions of rows.
EVIDENCE_MAX_CHARS = 300


class FileRefused(ValueError):
    """The file as a whole cannot be imported; nothing is written. The message (a Problem,
    kept in no language until shown) says why."""

    @property
    def problem(self) -> Problem:
        return problem_of(self)


class MappingNeeded(FileRefused):
    """No known layout matches: the staff say which column holds what (the mapping step).
    `columns` are the file's header cells with a few example values each."""

    def __init__(self, message: Problem, columns: list[dict]):
        super().__init__(message)
        self.columns = columns


def key(header: str) -> str:
    """A header cell as layouts compare it: lower case, BOM gone, any run of spaces,
    underscores, hyphens and dots one space (`UNSUB_TIME` and `Unsub time` are one key)."""
    return re.sub(r"[\s_\-.]+", " ", header.replace("\ufeff", "")).strip().lower()


def value_key(cell: str) -> str:
    """A status cell as statuses compare it, by the same rule as headers."""
    return key(cell)


class Columns:
    """A file's first line, for finding columns by any of their names."""

    def __init__(self, header: Sequence[str]):
        self.header = list(header)
        self.keys = [key(h) for h in header]

    def find(self, *names: str) -> int | None:
        for name in names:
            if name in self.keys:
                return self.keys.index(name)
        return None

    def has(self, *names: str) -> bool:
        return self.find(*names) is not None

    def label(self, index: int | None) -> str:
        return self.header[index].replace("\ufeff", "").strip() if index is not None else ""


# Provider words for why an address is not to be mailed, matched on value_key(cell).
_REASON_WORDS = {
    R.COMPLAINT: (
        "complaint",
        "complained",
        "spam",
        "spam complaint",
        "spam report",
        "spamreport",
        "abuse",
        "abuse report",
        "contactflaggedasspam",
        "marked as spam",
    ),
    R.HARD_BOUNCE: (
        "bounce",
        "bounced",
        "hard bounce",
        "hardbounce",
        "hard bounced",
        "invalid",
        "invalid email",
        "cleaned",
    ),
    R.MANUAL: (
        "manual",
        "manually added",
        "manually suppressed",
        "user suppressed",
        "admin",
        "adminblocked",
        "admin blocked",
    ),
    R.UNSUBSCRIBE: (
        "unsubscribe",
        "unsubscribed",
        "opt out",
        "opted out",
        "optout",
        "unsubscribedviaemail",
        "unsubscribedviama",
        "unsubscribedviaapi",
    ),
}
_WORD_REASON = {word: reason for reason, words in _REASON_WORDS.items() for word in words}


def reason_from_words(text: str) -> str | None:
    """The reason a provider's words name (`SPAM_COMPLAINT`, `hardBounce`, `Bounced`, our own
    export's `hard_bounce`), or None when they name none."""
    words = value_key(text)
    if not words:
        return None
    token = R.from_token(words.replace(" ", "_"))
    if token is not None:
        return token.value
    if words in _WORD_REASON:
        return _WORD_REASON[words]
    # Longer sentences: "The emails are spam and should be reported", "Permanent: General".
    for reason in (R.COMPLAINT, R.HARD_BOUNCE):
        if any(f" {w} " in f" {words} " for w in _REASON_WORDS[reason] if " " not in w):
            return reason.value
    return None


# Cells that say yes or no (HubSpot's opt-out column, Brevo's blocklist flag).
YES_NO: Mapping[str, str | None] = {
    "true": R.UNSUBSCRIBE,
    "yes": R.UNSUBSCRIBE,
    "1": R.UNSUBSCRIBE,
    "false": None,
    "no": None,
    "0": None,
    "": None,
}


class Verdict(NamedTuple):
    """One row judged: `reason` set means suppressed; None means the provider does not mark
    it (skipped); `problem` set means the row cannot be judged (rejected, reported by line)."""

    reason: str | None
    evidence: str = ""
    problem: Problem | None = None


@dataclass(frozen=True)
class Layout:
    """How to read one kind of file. Column positions are those of the file at hand."""

    key: str
    email: int
    date: int | None = None
    # The column whose value says whether the row is suppressed, and what each value means:
    # a reason code (suppressed, for that reason) or None (not suppressed). A value not listed
    # rejects the row: the staff see it by line instead of a guess in either direction.
    status: int | None = None
    statuses: Mapping[str, str | None] = field(default_factory=dict)
    # A mapping lists only the values that mean suppressed; every other value is skipped.
    unlisted_skipped: bool = False
    # The reason of a suppressed row, unless a status or the reason column says otherwise.
    reason: str = R.UNSUBSCRIBE
    reason_column: int | None = None
    # Cells kept as the provider's own words: (their header, column).
    evidence: tuple[tuple[str, int], ...] = ()
    # Rows are read only where these cells hold one of the values (Mautic: the email channel).
    only: tuple[tuple[int, frozenset[str]], ...] = ()
    # Recognised, but the provider does not suppress these rows (SendGrid's blocks).
    suppresses_nothing: bool = False
    has_header: bool = True
    # Why it was recognised: an English sentence with %(name)s fields, translated when shown.
    because: str = ""
    because_args: Mapping[str, str] = field(default_factory=dict)
    # A saved mapping's name, when the layout is one.
    mapping_name: str = ""
    _every_row: Verdict | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Most lists suppress every row for one reason and keep no words: one verdict for all.
        constant = not (
            self.only
            or self.suppresses_nothing
            or self.status is not None
            or self.reason_column is not None
            or self.evidence
        )
        object.__setattr__(self, "_every_row", Verdict(str(self.reason)) if constant else None)

    def judge(self, row: Sequence[str]) -> Verdict:
        if self._every_row is not None:
            return self._every_row
        for index, allowed in self.only:
            if value_key(_cell(row, index)) not in allowed:
                return Verdict(None)
        if self.suppresses_nothing:
            return Verdict(None)
        reason: str | None = self.reason
        if self.status is not None:
            raw = _cell(row, self.status)
            value = value_key(raw)
            if value not in self.statuses:
                if self.unlisted_skipped:
                    return Verdict(None)
                known = ", ".join(repr(v) for v, r in self.statuses.items() if v and r)
                return Verdict(
                    None,
                    problem=Problem(
                        gettext_noop(
                            "status %(status)s is not one this layout knows "
                            "(suppressed: %(known)s); not imported"
                        ),
                        status=repr(raw.strip()[:40]),
                        known=known,
                    ),
                )
            reason = self.statuses[value]
            if reason is None:
                return Verdict(None)
        if self.reason_column is not None:
            reason = reason_from_words(_cell(row, self.reason_column)) or reason
        return Verdict(str(reason), self.words(row))

    def words(self, row: Sequence[str]) -> str:
        """The provider's own words on this row, as evidence."""
        parts = []
        for label, index in self.evidence:
            value = " ".join(_cell(row, index).split())
            if value:
                parts.append(f"{label}: {value}")
        return "; ".join(parts)[:EVIDENCE_MAX_CHARS]


def _cell(row: Sequence[str], index: int | None) -> str:
    if index is None or index >= len(row):
        return ""
    return row[index]


def cell(row: Sequence[str], index: int | None) -> str:
    return _cell(row, index)
