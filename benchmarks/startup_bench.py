"""Target 1: `--version`, `--help` and `init --help` against `python -c "import click"` on the
same interpreter, each a whole process timed from outside (start to exit).

The agent runs from the console script pip made, as a user's does. Byte-code is allowed
(PYTHONDONTWRITEBYTECODE is dropped for these runs, and the warm-up writes the .pyc files):
an installed wheel has them, a checkout run with that variable set would compile every
module on every start.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.figures import Figure, Section, seconds, times
from benchmarks.pairing import paired

ROOT = Path(__file__).resolve().parents[1]
# Cheap enough to count three times the minimum.
RUNS = 21
COMMANDS = (("--version",), ("--help",), ("init", "--help"))


def console_script() -> Path:
    return Path(sys.executable).with_name("jupyter-bootstrap")


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # This checkout's agent, whichever one the venv was installed from.
    env["PYTHONPATH"] = str(ROOT / "agent")
    return env


def _run(argv: Sequence[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def measure(runs: int = RUNS) -> Section:
    section = Section("Start-up (target 1)")
    script = console_script()
    if not script.exists():
        section.skipped = f"{script} is missing: install the package into this Python first"
        return section
    env = _environment()
    baseline = [sys.executable, "-c", "import click"]
    for args in COMMANDS:
        argv = [str(script), *args]
        ours = functools.partial(_run, argv, env)
        result = paired(ours, functools.partial(_run, baseline, env), runs, warmup=2)
        section.figures.append(
            Figure(
                "1",
                f"`jupyter-bootstrap {' '.join(args)}`",
                seconds(result.a_median),
                '`python -c "import click"`, same interpreter',
                seconds(result.b_median),
                times(result.ratio),
                "<= 1.2x",
                result.ratio <= 1.2,
                f"{runs} pairs; min-max {result.spread}",
            )
        )
    return section
