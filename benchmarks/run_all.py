"""Every benchmark of issue 12, then docs/performance.md and its plot. Run through
`benchmarks/run_all` (which makes the venv); `--runs N` counts N pairs per figure (at
least 7), `--skip-instance` leaves out the figures that boot a systemd instance."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from benchmarks import download_bench, instance_bench, resume_bench, startup_bench
from benchmarks.figures import Section
from benchmarks.pairing import MIN_RUNS
from benchmarks.plot import draw_download_plot
from benchmarks.report import render

ROOT = Path(__file__).resolve().parents[1]
PLOT = "performance-download.png"


def _say(text: str) -> None:
    print(f"run_all: {text}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=MIN_RUNS, help="pairs per figure (>= 7)")
    parser.add_argument("--skip-instance", action="store_true", help="no systemd instance")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs", help="where to write")
    args = parser.parse_args()
    runs = max(args.runs, MIN_RUNS)
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    sections: list[Section] = []

    _say("start-up (target 1)")
    sections.append(startup_bench.measure())
    _say("downloads (target 3): 32 to 512 MiB")
    download, results = download_bench.measure(runs=runs)
    sections.append(download)
    _say("resume after a cut (target 4)")
    sections.append(resume_bench.measure())
    if args.skip_instance:
        sections.append(
            Section("On a real systemd instance (targets 2, 5, 6)", skipped="--skip-instance")
        )
    else:
        _say("a systemd instance (targets 2, 5, 6): a few minutes")
        sections.append(instance_bench.measure(runs))

    args.docs.mkdir(parents=True, exist_ok=True)
    if results:
        draw_download_plot(results, args.docs / PLOT)
    busy = (
        f"{os.cpu_count()} cores, shared: other work ran at the same time (load average "
        f"{load_before:.2f} at the start, {os.getloadavg()[0]:.2f} at the end); that is why "
        "every figure is paired with its baseline in the same run"
    )
    (args.docs / "performance.md").write_text(render(sections, PLOT, busy))
    missed = [f for s in sections for f in s.figures if not f.met]
    _say(
        f"wrote {args.docs / 'performance.md'} in {time.monotonic() - started:.0f} s; "
        f"{len(missed)} target(s) missed"
    )
    for figure in missed:
        _say(f"missed: target {figure.target}, {figure.what}: {figure.ratio} (goal {figure.goal})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
