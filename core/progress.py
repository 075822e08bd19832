"""Progress of long management commands: a bar on a terminal, plain log lines otherwise.

with Progress(total=rows, label="importing", stream=self.stderr) as progress:
    for batch in batches:
        ...
        progress.advance(len(batch))
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

# Plain-line mode prints at most this often, so logs stay readable on million-row runs.
LOG_EVERY_SECONDS = 5.0


class Progress:
    def __init__(
        self, *, total: int | None, label: str, stream: TextIO | None = None, unit: str = "rows"
    ) -> None:
        self.total, self.label, self.unit = total, label, unit
        self.stream = stream or sys.stderr
        self.done = 0
        self.started = time.monotonic()
        self.last_line = 0.0
        self.bar = None
        self.closed = False
        # A command's self.stderr is Django's OutputWrapper: ask the real stream, and give tqdm
        # the real stream too (the wrapper ends every write with a newline, breaking the bar).
        raw = getattr(self.stream, "_out", self.stream)
        if getattr(raw, "isatty", lambda: False)():
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=label, unit=f" {unit}", file=raw)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        self.close(failed=exc_type is not None)

    def advance(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.monotonic()
        if now - self.last_line >= LOG_EVERY_SECONDS:
            self.last_line = now
            self.stream.write(self._line() + "\n")
            self.stream.flush()

    def _line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        of = f"/{self.total:,}" if self.total is not None else ""
        return f"{self.label}: {self.done:,}{of} {self.unit} ({self.done / elapsed:,.0f}/s)"

    def close(self, *, failed: bool = False) -> None:
        """End the bar, or write the last line: "done", or "stopped" when the work failed.
        Closing twice writes nothing more."""
        if self.closed:
            return
        self.closed = True
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        else:
            self.stream.write(self._line() + (" stopped\n" if failed else " done\n"))
            self.stream.flush()
