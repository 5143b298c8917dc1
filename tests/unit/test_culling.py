"""Idle kernels and terminals culled by Jupyter itself: the lines init renders into the
managed block for `--idle-kernel-timeout` (2h by default, `off` for none), and the durations
people type for it. (A real Jupyter culling an idle kernel and keeping a busy one:
tests/e2e/test_day_two.py; the rendered lines loaded by a real server:
tests/integration/test_idle_settings.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_bootstrap import durations
from tests.support.cli import flat, init_on_port
from tests.support.fake_systemd import UNIT, FakeSystemd
from tests.support.report import step_states

CULLING = (
    "c.MappingKernelManager.cull_idle_timeout = {timeout}\n"
    "c.MappingKernelManager.cull_interval = {interval}\n"
    "c.MappingKernelManager.cull_connected = True\n"
    "c.MappingKernelManager.cull_busy = False\n"
    "c.TerminalManager.cull_inactive_timeout = {timeout}\n"
    "c.TerminalManager.cull_interval = {interval}\n"
)


def config(home: Path) -> str:
    return (home / ".jupyter" / "jupyter_server_config.py").read_text()


def test_idle_kernels_and_terminals_go_after_two_hours_by_default(
    fake: FakeSystemd, jupyter_prefix: Path, port: int, home: Path
) -> None:
    init_on_port(jupyter_prefix, port)
    assert CULLING.format(timeout=7200, interval=300) in config(home)


def test_a_new_timeout_restarts_jupyter_once_and_off_takes_the_lines_out(
    fake: FakeSystemd, jupyter_prefix: Path, port: int, home: Path
) -> None:
    init_on_port(jupyter_prefix, port)
    fake.clear_calls()
    output = init_on_port(jupyter_prefix, port, "--idle-kernel-timeout", "90m")
    assert step_states(output)["config"] == "changed"
    assert CULLING.format(timeout=5400, interval=300) in config(home)
    assert fake.changes() == [["restart", UNIT]]  # Jupyter reads culling at start only
    short = init_on_port(jupyter_prefix, port, "--idle-kernel-timeout", "40s")
    assert step_states(short)["config"] == "changed"
    assert CULLING.format(timeout=40, interval=10) in config(home)  # a quarter, for short ones
    init_on_port(jupyter_prefix, port, "--idle-kernel-timeout", "off")
    assert "cull" not in config(home)
    again = init_on_port(jupyter_prefix, port)
    assert step_states(again)["config"] == "ok"  # off is saved


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("soon", "'soon' is not a duration: write e.g. 3h, 90m or 1h30m"),
        ("-2h", "'-2h' is not a duration"),
        ("30", "'30' has no unit: write e.g. 30m or 30h"),
    ],
)
def test_bad_timeouts_are_refused(
    fake: FakeSystemd, jupyter_prefix: Path, port: int, home: Path, value: str, says: str
) -> None:
    output = init_on_port(jupyter_prefix, port, f"--idle-kernel-timeout={value}", code=2)
    assert says in flat(output) and "`off` to keep idle kernels" in flat(output)
    assert not (home / ".config").exists()


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("2h", 7200), ("90m", 5400), ("1h30m", 5400), ("45s", 45), ("1d", 86400), (" 2H ", 7200)],
)
def test_durations(value: str, seconds: int) -> None:
    assert durations.parse(value) == seconds
    assert durations.parse(durations.describe(seconds)) == seconds


@pytest.mark.parametrize("value", ["off", "OFF", " never ", "no"])
def test_off_is_off(value: str) -> None:
    assert durations.is_off(value)
