"""Shared pieces of the benchmarks: timing in fresh processes, medians, ratios, the results
table in bench/README.md.

Each measured step runs in its own process (`python -m bench.step MODULE FUNCTION JSON-ARGS`)
so its peak memory (`peak_mb`, the process's own high-water mark) is its own. A benchmark
prints each figure next to the anchor measured in the same run and their ratio, then rewrites
its section of bench/README.md.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "bench" / "README.md"


@dataclass
class Measurement:
    seconds: float
    peak_mb: float
    extra: dict

    def rate(self, count: int) -> float:
        return count / self.seconds if self.seconds else float("inf")


def step(module: str, function: str, env: dict | None = None, **kwargs) -> Measurement:
    """Run `module.function(**kwargs)` in a fresh process; it returns a dict of extra figures."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.step", module, function, json.dumps(kwargs)],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{module}.{function} failed:\n{result.stderr[-4000:]}")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return Measurement(seconds=data.pop("seconds"), peak_mb=data.pop("peak_mb"), extra=data)


def median(measurements: list[Measurement]) -> Measurement:
    ordered = sorted(measurements, key=lambda m: m.seconds)
    middle = ordered[len(ordered) // 2]
    return Measurement(
        seconds=statistics.median(m.seconds for m in measurements),
        peak_mb=max(m.peak_mb for m in measurements),
        extra=middle.extra,
    )


def peak_mb() -> float:
    """This process's peak resident memory. On Linux the high-water mark of its own memory
    (VmHWM): ru_maxrss survives exec, so a process started by a big parent would report the
    parent's peak."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem_gb:.0f} GiB, Python {platform.python_version()}"


def write_section(
    name: str, title: str, rows: list[list[str]], header: list[str], notes: str = ""
) -> str:
    """Replace this benchmark's section in bench/README.md (between its markers)."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"<!-- bench:{name} -->",
        f"### {title}",
        "",
        f"Last run {stamp} on {machine()}.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
    if notes:
        lines += ["", notes]
    lines.append(f"<!-- /bench:{name} -->")
    section = "\n".join(lines)
    text = README.read_text() if README.exists() else "# Benchmarks\n"
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        text = before + section + after
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    README.write_text(text)
    print(section)
    return section


def staff_login(client, user) -> None:
    """force_login plus the second factor in the session, as the two-factor page leaves it."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
