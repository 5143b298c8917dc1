"""The run lock: one converging run at a time, a dead run's file never blocks, and the
refusal says who holds it and how to follow it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from jupyter_bootstrap.commands import run_lock
from jupyter_bootstrap.console import duration
from jupyter_bootstrap.errors import UserError


def test_a_second_holder_is_refused_with_who_and_how_to_follow(tmp_path: Path) -> None:
    state, log = tmp_path / "state", tmp_path / "state" / "jupyter-bootstrap.log"
    with run_lock.held(state, "init", log):
        record = json.loads((state / "run.lock").read_text())
        assert record["pid"] == os.getpid() and record["command"] == "init"
        with pytest.raises(UserError) as refused, run_lock.held(state, "password", log):
            pass
    message = refused.value.message
    assert message.startswith(f"`jupyter-bootstrap init` is already running (PID {os.getpid()}")
    assert message.endswith("so this password changes nothing")
    assert refused.value.hint is not None and f"tail -f {log}" in refused.value.hint
    assert not (state / "run.lock").exists()  # released and gone
    with run_lock.held(state, "init", log):  # and free again
        pass


def test_a_file_left_by_a_dead_run_does_not_block(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    state = tmp_path / "state"
    state.mkdir()
    (state / "run.lock").write_text(json.dumps({"pid": dead.pid, "command": "init"}))
    with run_lock.held(state, "init", state / "x.log"):
        assert json.loads((state / "run.lock").read_text())["pid"] == os.getpid()


def test_durations_read_well() -> None:
    assert [duration(s) for s in (0, 45, 190, 3725)] == [
        "0s",
        "45s",
        "3m 10s",
        "1h 02m",
    ]
