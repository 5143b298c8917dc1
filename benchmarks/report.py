"""docs/performance.md from one run of benchmarks/run_all: the machine, then each section's
figures with their baselines, ratios and targets."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from datetime import datetime, timezone

from benchmarks.figures import Section

HEADER = """# Performance

Made by `benchmarks/run_all` (do not edit by hand; run it again). Every figure is the median
of its runs, and each is paired with its baseline measured in the same run, in turn (A B A
B ...): the ratio is the median of the pairwise ratios, so a machine whose speed drifts
slows both sides alike. No test asserts any of these times; `tests/` checks behaviour only.
"""


def _memory() -> str:
    try:
        with open("/proc/meminfo") as meminfo:
            kib = int(meminfo.readline().split()[1])
    except (OSError, ValueError, IndexError):
        return "unknown"
    return f"{kib / 1024 / 1024:.1f} GiB"


def _systemd() -> str:
    if shutil.which("systemctl") is None:
        return "none on the host"
    out = subprocess.run(["systemctl", "--version"], capture_output=True, text=True).stdout
    return (out.splitlines() or ["unknown"])[0]


def _load() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min) when the run ended"


def machine_lines(busy_note: str) -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            cpu = next(
                (
                    line.split(":", 1)[1].strip()
                    for line in cpuinfo
                    if line.startswith("model name")
                ),
                cpu,
            )
    except OSError:
        pass
    lines = [
        "## The machine",
        "",
        f"- cores: {os.cpu_count()} ({cpu})",
        f"- memory: {_memory()}",
        f"- Python: {platform.python_version()} ({sys.executable})",
        f"- systemd (host): {_systemd()}",
        f"- kernel: {platform.release()}",
        f"- load average: {_load()}",
        f"- run: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
    ]
    if busy_note:
        lines.append(f"- {busy_note}")
    return lines


def render(sections: list[Section], plot_name: str, busy_note: str) -> str:
    out = [HEADER, *machine_lines(busy_note), ""]
    out += ["## Summary", ""]
    out += [
        "| target | what | ours | baseline | ratio | goal | met |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for section in sections:
        for f in section.figures:
            met = "yes" if f.met else "**no**"
            cells = (f.target, f.what, f.ours, f.baseline, f.ratio, f.goal, met)
            out.append("| " + " | ".join(cells) + " |")
        if section.skipped:
            out.append(f"| | {section.title}: not measured | | | | | skipped |")
    out.append("")
    for section in sections:
        out += [f"## {section.title}", ""]
        if section.skipped:
            out += [f"Not measured here: {section.skipped}.", ""]
            continue
        for f in section.figures:
            out.append(
                f"- **{f.what}**: {f.ours} against {f.baseline_what}: {f.baseline}; "
                f"{f.ratio} (goal {f.goal}: {'met' if f.met else 'missed'}). {f.note}"
            )
        out.append("")
        if section.details:
            out += [*section.details, ""]
        if section.title.startswith("Download"):
            out += [f"![download time and peak RSS against the file size]({plot_name})", ""]
    return "\n".join(out).rstrip() + "\n"
