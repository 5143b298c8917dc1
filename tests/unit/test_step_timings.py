"""`status --timings` says how long each check took and which was the slowest; the log says
it on every run, so a slow one can be found after the fact. What is checked is that the
figures are there, never how large they are."""

from __future__ import annotations

import re
from pathlib import Path

from jupyter_bootstrap.steps import STEP_NAMES
from tests.support.cli import init_files_only, invoke
from tests.support.report import step_lines

TIME = re.compile(r"\[\d+\.\d{3}s\]$")


def test_status_timings_names_each_step_and_the_slowest(home: Path, jupyter_prefix: Path) -> None:
    assert init_files_only(jupyter_prefix).exit_code == 0
    result = invoke("status", "--timings")
    assert result.exit_code == 0, result.output
    lines = step_lines(result.output)
    assert set(lines) == set(STEP_NAMES)
    assert [name for name, line in lines.items() if not TIME.search(line)] == []
    assert "The steps took " in result.output and "the slowest was " in result.output


def test_without_timings_status_lines_stay_as_they_were(home: Path, jupyter_prefix: Path) -> None:
    assert init_files_only(jupyter_prefix).exit_code == 0
    output = invoke("status").output
    assert not any(TIME.search(line) for line in output.splitlines())
    assert "slowest" not in output


def test_the_log_has_every_steps_time(home: Path, jupyter_prefix: Path) -> None:
    assert init_files_only(jupyter_prefix).exit_code == 0
    log = (home / ".local" / "state" / "jupyter-bootstrap" / "jupyter-bootstrap.log").read_text()
    logged = set(re.findall(r"step (\w+) took \d+\.\d{3} s", log))
    assert {"host", "conda", "password", "certificate", "config"} <= logged
