"""Problems found in an uploaded file, kept in no language and translated when shown.

A CSV import is often read by a Celery worker (in the server's language) and its problems are
stored with the import; the staff member reading them later may read German or English. So a
problem is kept as its English msgid (marked with ``gettext_noop`` where it is written, so
``makemessages`` finds it) and its named values, and is put into words by ``gettext`` in the
reader's language each time it is shown::

    raise FileRefused(Problem(gettext_noop("line %(line)s cannot be read"), line=7))

A value may itself be a Problem (a field's name, a sentence inside a sentence) or a list of
them (joined by "; "); it is translated with its parent. Text stored before problems were
kept this way (plain English) is shown as it is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext, ngettext, override

# How a stored problem is told from plain text in a text column.
_MARK = '{"msgid":'


class Problem:
    """One message for the staff: an English msgid with %(name)s fields, and their values."""

    __slots__ = ("msgid", "params", "plural", "count")

    def __init__(self, msgid: str, /, **params: Any) -> None:
        self.msgid = str(msgid)
        self.params = params
        # A message with a plural form (ngettext): the plural msgid and the value that counts.
        self.plural = ""
        self.count = ""

    def __str__(self) -> str:
        """The problem in the active language."""
        if self.plural and isinstance(self.params.get(self.count), int):
            text = ngettext(self.msgid, self.plural, self.params[self.count])
        else:
            text = gettext(self.msgid) if self.msgid else ""
        if not self.params:
            return text
        return text % {name: _shown(value) for name, value in self.params.items()}

    def __repr__(self) -> str:
        return f"Problem({self.msgid!r}, **{self.params!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Problem) and self.msgid == other.msgid and self.params == other.params
        )

    def __hash__(self) -> int:
        return hash(self.msgid)

    def as_json(self) -> dict:
        """The problem as JSON data, for a JSON field (row errors, lines' problems)."""
        data: dict = {"msgid": self.msgid, "params": {k: _json(v) for k, v in self.params.items()}}
        if self.plural:
            data.update(plural=self.plural, count=self.count)
        return data

    def stored(self) -> str:
        """The problem as text, for a text field (an import's message); `shown` reads it."""
        return json.dumps(self.as_json(), ensure_ascii=False)

    @classmethod
    def from_json(cls, data: Mapping) -> Problem:
        params = {k: _loaded(v) for k, v in (data.get("params") or {}).items()}
        problem = cls(str(data.get("msgid") or ""), **params)
        problem.plural, problem.count = data.get("plural") or "", data.get("count") or ""
        return problem

    @classmethod
    def joined(cls, parts: list) -> Problem:
        """Several problems in one message, joined by "; "."""
        return cls("%(parts)s", parts=list(parts))

    @classmethod
    def text(cls, text: str) -> Problem:
        """Words that are not ours to translate (a library's error): shown as they are."""
        return cls("%(text)s", text=str(text))


def problem_of(error: Any) -> Problem:
    """A Problem from what an exception or a library hands over: a Problem as it is; a
    ValidationError's message (translated lazily: its English msgid) with its values; a lazy
    translation by its msgid; anything else as words shown as they are."""
    if isinstance(error, Problem):
        return error
    if isinstance(error, BaseException) and error.args and isinstance(error.args[0], Problem):
        return error.args[0]
    message = getattr(error, "message", None)
    if message is not None and hasattr(error, "params"):
        params = error.params or {}
        if isinstance(message, Promise):
            values = params if isinstance(params, Mapping) else {}
            return _lazy_problem(message, {k: _value(v) for k, v in values.items()})
        if isinstance(message, Problem):
            return message
        return Problem.text(str(message) % params if params else str(message))
    if isinstance(error, Promise):
        return Problem(_msgid(error))
    return Problem.text(str(error))


def stored(value: Problem | str) -> str:
    """What a text field keeps of a problem (a Problem, or plain text as it is)."""
    return value.stored() if isinstance(value, Problem) else str(value)


def shown(value: Any) -> str:
    """A stored problem in the active language: a Problem, its JSON data or its text from a
    text field; a list of them joined by "; "; plain text (older records) as it is."""
    if isinstance(value, str) and value.startswith(_MARK):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return _shown(_loaded(value))


class _CountKey(dict):
    """Finds which value a lazy plural message counts by (ngettext_lazy's `number`)."""

    key = ""

    def __missing__(self, key):
        self.key = key
        return 1


def _lazy_problem(message: Promise, params: dict) -> Problem:
    forms = getattr(message, "_kw", None) or {}
    if "singular" in forms and "plural" in forms:
        # ngettext_lazy(singular, plural, "name"): kept with both forms and the counting value.
        spy = _CountKey()
        try:
            message._proxy____cast()._get_number_value(spy)  # type: ignore[attr-defined]
        except (AttributeError, KeyError, TypeError):
            spy.key = ""
        if spy.key in params:
            problem = Problem(str(forms["singular"]), **params)
            problem.plural, problem.count = str(forms["plural"]), spy.key
            return problem
        with override(None):
            return Problem.text(str(message % params) if params else str(message))
    return Problem(_msgid(message), **params)


def _msgid(message: Promise) -> str:
    # With no language active, a lazy translation is its msgid.
    with override(None):
        return str(message)


def _value(value: Any) -> Any:
    if isinstance(value, Promise):
        return Problem(_msgid(value))
    if isinstance(value, (Problem, int, float)):
        return value
    return str(value)


def _json(value: Any) -> Any:
    if isinstance(value, Promise):
        value = _value(value)
    if isinstance(value, Problem):
        return value.as_json()
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    return value


def _loaded(value: Any) -> Any:
    if isinstance(value, Mapping) and "msgid" in value:
        return Problem.from_json(value)
    if isinstance(value, list):
        return [_loaded(v) for v in value]
    return value


def _shown(value: Any) -> Any:
    value = _loaded(value)
    if isinstance(value, Problem):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "; ".join(str(_shown(v)) for v in value)
    return value
