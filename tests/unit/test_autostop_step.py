"""Stopping when idle against stand-in systemd: `--stop-when-idle` installs a timer and a
unit whose condition is the agent's look as the login user and whose one root command is a
fixed `systemctl poweroff`; the config gains the API token that look needs (so Jupyter
restarts once); `off` takes all of it away again; bad values are refused before anything
changes. (A real power-off and what keeps it from happening: tests/e2e/test_day_two.py.)"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from jupyter_bootstrap import stop_when_idle
from jupyter_bootstrap.service import idle_units, systemctl
from jupyter_bootstrap.service.agent_run import AgentRun
from tests.support.cli import flat, init_on_port, invoke
from tests.support.fake_systemd import UNIT, FakeSystemd
from tests.support.report import step_states
from tests.unit.test_unit_template import systemd_analyze_verify

SERVICE, TIMER = "jupyter-stop-when-idle.service", "jupyter-stop-when-idle.timer"
TOKEN_LINE = "c.IdentityProvider.token = "


def directives(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def config(home: Path) -> str:
    return (home / ".jupyter" / "jupyter_server_config.py").read_text()


@pytest.fixture
def stopping(fake: FakeSystemd, jupyter_prefix: Path, port: int) -> str:
    init_on_port(jupyter_prefix, port)
    fake.clear_calls()
    return init_on_port(jupyter_prefix, port, "--stop-when-idle", "3h")


def test_it_installs_a_timer_whose_unit_decides_as_the_user_and_powers_off_as_root(
    stopping: str, fake: FakeSystemd, home: Path
) -> None:
    states = step_states(stopping)
    assert (states["config"], states["autostop"]) == ("changed", "changed"), stopping
    service = directives((fake.unit_dir / SERVICE).read_text())
    program = f'"{sys.executable}" "-m" "jupyter_bootstrap"'
    assert f'ExecCondition={program} "idle-check"' in service
    assert "ExecStart=+/bin/systemctl --no-block poweroff" in service
    assert [line for line in service if line.startswith("Exec")] == [
        f'ExecCondition={program} "idle-check"',
        "ExecStart=+/bin/systemctl --no-block poweroff",
    ]
    assert f"User={home.owner()}" in service and "NoNewPrivileges=yes" in service
    assert "CapabilityBoundingSet=" in service
    timer = directives((fake.unit_dir / TIMER).read_text())
    assert "OnUnitActiveSec=300s" in timer and "AccuracySec=1s" in timer
    # No daemon-reload of its own: enabling reloads, and systemd then reads the new files.
    assert fake.changes(TIMER)[-2:] == [["enable", "--quiet", TIMER], ["start", TIMER]]
    systemctl.forget()
    assert not systemctl.state(TIMER).need_daemon_reload
    # The API token the look needs: in our block, so Jupyter restarts once for it.
    assert TOKEN_LINE in config(home)
    assert ["restart", UNIT] in fake.changes()
    # It warns what a power-off means on EC2, and how to turn it off, on every status.
    status = flat(invoke("status").output)
    assert "warning: autostop: On EC2 a power-off stops the instance when it is" in status
    assert "Terminate is deleted" in status and "--stop-when-idle off" in status
    # And at the end of init.
    text = flat(stopping)
    assert "Idle stop: after 3h with no Jupyter activity" in text
    assert "On EC2 a power-off stops the instance when it is EBS-backed" in text
    # The idle time counts from this run, not from whenever Jupyter was last used.
    record = json.loads((home / ".local/state/jupyter-bootstrap/stop-when-idle.json").read_text())
    assert set(record) == {"last_in_use"}


def test_a_second_run_changes_nothing_and_a_new_time_restarts_nothing(
    stopping: str, fake: FakeSystemd, jupyter_prefix: Path, port: int, home: Path
) -> None:
    token = config(home)
    fake.clear_calls()
    again = init_on_port(jupyter_prefix, port)
    assert step_states(again)["autostop"] == "ok" and fake.changes(None) == []
    longer = init_on_port(jupyter_prefix, port, "--stop-when-idle", "4h")
    assert step_states(longer)["autostop"] == "changed"
    assert config(home) == token  # the same token: nothing for Jupyter to re-read
    assert fake.changes() == []
    assert "after 4h" in (fake.unit_dir / SERVICE).read_text()


def test_off_removes_the_units_and_the_token(
    stopping: str, fake: FakeSystemd, jupyter_prefix: Path, port: int, home: Path
) -> None:
    fake.clear_calls()
    output = init_on_port(jupyter_prefix, port, "--stop-when-idle", "off")
    assert step_states(output)["autostop"] == "changed"
    assert not (fake.unit_dir / SERVICE).exists() and not (fake.unit_dir / TIMER).exists()
    assert ["stop", TIMER] in fake.changes(TIMER)
    assert TOKEN_LINE not in config(home)
    assert ["restart", UNIT] in fake.changes()
    settings = json.loads((home / ".config/jupyter-bootstrap/settings.json").read_text())
    assert settings["stop_when_idle"] == 0


def test_uninstall_removes_them(stopping: str, fake: FakeSystemd, home: Path) -> None:
    assert invoke("uninstall", "--yes").exit_code == 0
    assert not (fake.unit_dir / SERVICE).exists() and not (fake.unit_dir / TIMER).exists()
    assert not (home / ".local/state/jupyter-bootstrap/stop-when-idle.json").exists()


def test_it_needs_the_service(fake: FakeSystemd, jupyter_prefix: Path, port: int) -> None:
    output = init_on_port(jupyter_prefix, port, "--no-service", "--stop-when-idle", "3h", code=2)
    assert "--stop-when-idle needs the systemd service" in flat(output)


def test_the_check_says_off_when_it_is_off(
    fake: FakeSystemd, jupyter_prefix: Path, port: int
) -> None:
    init_on_port(jupyter_prefix, port)
    result = invoke("idle-check")
    assert (result.exit_code, result.output.strip()) == (
        1,
        "stop-when-idle is off: the machine stays on",
    )


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("0", "--stop-when-idle 0 would power the machine off the moment it is idle"),
        ("0m", "would power the machine off the moment it is idle"),
        ("-5m", "'-5m' is not a duration: write e.g. 3h, 90m or 1h30m"),
        ("abc", "'abc' is not a duration"),
        ("5m", "--stop-when-idle 5m is shorter than the minimum of 10m"),
        ("90s", "is shorter than the minimum of 10m"),
        ("3", "'3' has no unit: write e.g. 3m or 3h"),
        ("", "'' is not a duration"),
    ],
)
def test_bad_idle_times_are_refused(
    fake: FakeSystemd, jupyter_prefix: Path, port: int, home: Path, value: str, says: str
) -> None:
    output = init_on_port(jupyter_prefix, port, f"--stop-when-idle={value}", code=2)
    assert says in flat(output)
    assert "Traceback" not in output
    assert fake.calls() == [] and not (home / ".config").exists()


def test_the_minimum_can_be_lowered_for_tests(
    fake: FakeSystemd, jupyter_prefix: Path, port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(stop_when_idle.MINIMUM_ENV, "20s")
    output = init_on_port(jupyter_prefix, port, "--stop-when-idle", "30s")
    assert step_states(output)["autostop"] == "changed"
    timer = (fake.unit_dir / TIMER).read_text()
    assert "OnUnitActiveSec=5s" in timer  # a look every few seconds for a short idle time
    service = (fake.unit_dir / SERVICE).read_text()
    assert f'Environment="{stop_when_idle.MINIMUM_ENV}=20s"' in service  # the look agrees


@pytest.mark.parametrize(
    ("after", "interval"), [(20, 5), (600, 50), (3 * 3600, 300), (24 * 3600, 300)]
)
def test_the_timer_looks_often_enough(after: int, interval: int) -> None:
    assert stop_when_idle.check_interval(after) == interval


def test_systemd_analyze_verify_accepts_both_units(tmp_path: Path) -> None:
    run = AgentRun(
        "root", "root", tmp_path, sys.executable, ("JUPYTER_BOOTSTRAP_METADATA_URL=off",)
    )
    values = idle_units.IdleUnitValues(
        service_name="jupyter",
        run=run,
        after=3 * 3600,
        interval=300,
    )
    folder = tmp_path / "units"
    folder.mkdir()
    (folder / SERVICE).write_text(idle_units.render_service(values))
    (folder / TIMER).write_text(idle_units.render_timer(values))
    for name in (SERVICE, TIMER):
        result = systemd_analyze_verify(folder / name)
        complaints = [line for line in result.stderr.splitlines() if "stop-when-idle" in line]
        assert result.returncode == 0 and not complaints, result.stderr


def test_status_and_info_say_it_as_data(stopping: str, fake: FakeSystemd) -> None:
    status = json.loads(invoke("status", "--json").output)
    document = status["stop_when_idle"]
    assert (document["enabled"], document["after_seconds"], document["after"]) == (
        True, 3 * 3600, "3h")  # fmt: skip
    assert document["timer"] == TIMER and "Terminate is deleted" in document["warning"]
    # No server really runs here: unknown, so it would stay on, and says why.
    assert document["state"] == "unknown" and "stays on" in document["reason"]
    assert (document["idle_seconds"], document["fires_at"]) == (None, None)
    assert status["culling"]["idle_timeout_seconds"] == 7200
    assert status["culling"]["busy_kernels"] is False
    assert status["kernels"]["watcher"] == "jupyter-kernels.path"
    schema = (Path(__file__).parents[2] / "docs" / "status-json.md").read_text()
    keys = {key for name in ("kernels", "culling", "stop_when_idle") for key in status[name]}
    assert sorted(key for key in keys if f"`{key}`" not in schema) == []
    info = json.loads(invoke("info", "--json").output)["stop_when_idle"]
    assert info == {key: document[key] for key in info}  # the setting, not the moment
    assert "state" not in info
