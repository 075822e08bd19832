"""CI's German catalogue check: `makemessages` run over a copy of the code finds no string
without a German translation and no fuzzy one, in every app's catalogue.

The copy keeps the real catalogues untouched; the check reads the refreshed copies with
GNU gettext's msgattrib (the tools makemessages needs anyway)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import ROOT

SKIPPED = (".venv", ".git", "var", "tests", "bench", "deploy", "__pycache__", "*.mo", "*.pyc")


def untranslated_entries(po: Path) -> list[str]:
    """msgids that are untranslated or fuzzy in one catalogue (the header excluded)."""
    found = []
    for option in ("--untranslated", "--only-fuzzy"):
        out = subprocess.run(
            ["msgattrib", option, "--no-obsolete", "--no-wrap", str(po)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        found += [
            line.removeprefix("msgid ")
            for line in out.splitlines()
            if line.startswith("msgid ") and line != 'msgid ""'
        ]
    return found


def refreshed_catalogues(tmp_path: Path) -> list[Path]:
    copy = tmp_path / "repo"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(*SKIPPED))
    env = dict(os.environ, DEBUG="1", PYTHONPATH=str(copy))
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "de", "--no-obsolete"]
        + ["-i", ".venv/*", "-i", "tests/*", "-i", "bench/*"],
        cwd=copy,
        env=env,
        capture_output=True,
        check=True,
    )
    return sorted(copy.glob("*/locale/de/LC_MESSAGES/django.po"))


@pytest.mark.skipif(shutil.which("msgattrib") is None, reason="GNU gettext is not installed")
def test_makemessages_finds_every_string_translated_into_german(tmp_path):
    catalogues = refreshed_catalogues(tmp_path)

    assert len(catalogues) >= 10, catalogues
    missing = {
        str(po.relative_to(tmp_path / "repo")): entries
        for po in catalogues
        if (entries := untranslated_entries(po))
    }
    assert missing == {}, "strings without a German translation (or fuzzy) — run makemessages"
    # Strings outside every app would land in a catalogue at the root, which nobody reads.
    assert not (tmp_path / "repo" / "locale" / "de").exists()


@pytest.mark.skipif(shutil.which("msgattrib") is None, reason="GNU gettext is not installed")
def test_the_check_fails_on_a_new_string_without_german(tmp_path):
    """The check itself can fail: a new marked string and a fuzzy entry are both reported."""
    copy = tmp_path / "repo"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(*SKIPPED))
    (copy / "core" / "untranslated_probe.py").write_text(
        'from django.utils.translation import gettext_lazy as _\n\nPROBE = _("Probe text 4711")\n'
    )
    env = dict(os.environ, DEBUG="1", PYTHONPATH=str(copy))
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "de", "-i", "tests/*"],
        cwd=copy,
        env=env,
        capture_output=True,
        check=True,
    )
    po = copy / "core" / "locale" / "de" / "LC_MESSAGES" / "django.po"
    po.write_text(po.read_text() + '\n#, fuzzy\nmsgid "Fuzzy probe 4712"\nmsgstr "Unsicher"\n')

    entries = untranslated_entries(po)

    assert '"Probe text 4711"' in entries
    assert '"Fuzzy probe 4712"' in entries
