"""Where an uploaded file waits between its upload and its confirmation (EXCHANGES_IMPORT_DIR,
shared by the web processes and the workers)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from exchanges import conf


def stored_path(name: str) -> Path:
    return conf.import_dir() / Path(name).name


def keep_upload(chunks, file_name: str) -> str:
    """Write an upload (its byte chunks, never held whole) to the import folder; its name."""
    folder = conf.import_dir()
    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(file_name).name)[-100:] or "upload.csv"
    name = f"{uuid.uuid4().hex}-{safe}"
    with open(folder / name, "wb") as out:
        for chunk in chunks:
            out.write(chunk)
    return name


def remove_stored(name: str) -> None:
    if name:
        stored_path(name).unlink(missing_ok=True)
