"""status --json, logs, restart, uninstall; sudo and the port check (stand-in systemd)."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import click
import pytest

from jupyter_bootstrap import installed as records
from jupyter_bootstrap import sudo
from jupyter_bootstrap.commands import logs as logs_command
from jupyter_bootstrap.commands import uninstall
from jupyter_bootstrap.errors import UserError
from jupyter_bootstrap.service import journal, port_owner, systemctl
from tests.support.cli import flat, init_on_port, invoke
from tests.support.fake_systemd import UNIT, FakeSystemd


@pytest.fixture
def installed(fake: FakeSystemd, jupyter_prefix: Path, port: int) -> FakeSystemd:
    init_on_port(jupyter_prefix, port)
    fake.clear_calls()
    return fake


# -- status --json -----------------------------------------------------------------------------


def test_status_json_describes_the_running_service(
    installed: FakeSystemd,
    port: int,
) -> None:
    result = invoke("status", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)  # nothing but the document on stdout
    assert document["schema_version"] == 1
    assert (document["ok"], document["exit_code"], document["drift"]) == (True, 0, [])
    assert document["url"].endswith(f":{port}/")
    names = [s["name"] for s in document["steps"]]
    assert names[-5:] == ["service", "kernels", "autostop", "renewal", "health"]
    assert all(s["state"] == "ok" for s in document["steps"])
    service = document["service"]
    assert service["name"] == UNIT
    assert service["unit_file"] == str(installed.unit_dir / UNIT)
    for key in ("managed", "systemd", "installed", "ours", "enabled", "active"):
        assert service[key] is True, key
    assert (service["active_state"], service["sub_state"]) == ("active", "running")
    assert service["main_pid"] == installed.unit()["pid"]
    assert isinstance(service["uptime_seconds"], int)
    assert service["active_since"].endswith("Z")


def test_status_json_exits_3_on_drift(installed: FakeSystemd) -> None:
    installed.set_unit(enabled=False, active=False)
    result = invoke("status", "--json")
    assert result.exit_code == 3
    document = json.loads(result.output)
    assert document["drift"] == ["service"]
    assert document["service"]["enabled"] is False and document["service"]["main_pid"] is None
    service_step = next(s for s in document["steps"] if s["name"] == "service")
    assert service_step["state"] == "drift" and service_step["action"] == "enable it, start it"


def test_docs_describe_every_status_json_key(installed: FakeSystemd) -> None:
    document = json.loads(invoke("status", "--json").output)
    schema = (Path(__file__).parents[2] / "docs" / "status-json.md").read_text()
    keys = set(document) | set(document["service"]) | set(document["steps"][0])
    missing = sorted(key for key in keys if f"`{key}`" not in schema)
    assert not missing, f"docs/status-json.md does not describe {missing}"


# -- logs ----------------------------------------------------------------------------------------


@pytest.fixture
def exec_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []
    monkeypatch.setattr(logs_command, "replace_process", calls.append)
    return calls


def test_logs_hands_over_to_journalctl(
    installed: FakeSystemd, exec_calls: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal, "journal_needs_sudo", lambda: False)
    assert invoke("logs").exit_code == 0
    assert invoke("logs", "-f", "-n", "5").exit_code == 0
    assert exec_calls == [
        ["journalctl", "--unit", UNIT, "--lines", "50", "--no-pager"],
        ["journalctl", "--unit", UNIT, "--lines", "5", "--no-pager", "--follow"],
    ]


def test_logs_uses_sudo_without_journal_rights(
    installed: FakeSystemd, exec_calls: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal, "journal_needs_sudo", lambda: True)
    monkeypatch.setattr(journal, "sudo_argv", lambda argv: ["sudo", "-n", *argv])
    assert invoke("logs", "-n", "3").exit_code == 0
    assert exec_calls[0][:4] == ["sudo", "-n", "journalctl", "--unit"]


def test_logs_without_systemd_says_where_the_log_is(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exec_calls: list[list[str]]
) -> None:
    monkeypatch.setattr(systemctl, "BOOTED_MARKER", tmp_path / "absent")
    result = invoke("logs")
    assert result.exit_code == 2
    assert "systemd is not running" in flat(result.output)
    assert exec_calls == []


# -- restart ------------------------------------------------------------------------------------


def test_restart_restarts_and_checks_health(installed: FakeSystemd) -> None:
    pid = installed.unit()["pid"]
    result = invoke("restart")
    assert result.exit_code == 0, result.output
    assert "restarted it (asked for with `jupyter-bootstrap restart`)" in flat(result.output)
    assert "health       ok" in result.output
    assert installed.changes() == [["restart", UNIT]]
    assert installed.unit()["pid"] != pid


def test_restart_before_init_is_refused(fake: FakeSystemd) -> None:
    result = invoke("restart")
    assert result.exit_code == 2
    assert "nothing is set up yet" in result.output
    assert fake.changes() == []


def test_restart_with_no_service_is_refused(
    fake: FakeSystemd,
    jupyter_prefix: Path,
    port: int,
) -> None:
    init_on_port(jupyter_prefix, port, "--no-service")
    result = invoke("restart")
    assert result.exit_code == 2
    assert "--no-service" in flat(result.output)


# -- uninstall ----------------------------------------------------------------------------------


USER_LINE = "c.ServerApp.shutdown_no_activity_timeout = 3600  # mine\n"


def test_uninstall_without_a_terminal_needs_yes(installed: FakeSystemd, home: Path) -> None:
    result = invoke("uninstall")
    assert result.exit_code == 2
    assert "--yes" in result.output
    assert (installed.unit_dir / UNIT).exists()
    assert installed.changes() == []


def test_uninstall_removes_ours_and_keeps_the_rest(installed: FakeSystemd, home: Path) -> None:
    config = home / ".jupyter" / "jupyter_server_config.py"
    config.write_text(config.read_text() + USER_LINE)
    (home / "Notebooks" / "work.ipynb").write_text("{}")
    result = invoke("uninstall", "--yes")
    assert result.exit_code == 0, result.output
    assert installed.changes() == [
        ["stop", UNIT],
        ["disable", "--quiet", UNIT],
        ["daemon-reload"],
        ["reset-failed", UNIT],
    ]
    assert not (installed.unit_dir / UNIT).exists()
    assert config.read_text() == USER_LINE
    assert not (home / ".config" / "jupyter-bootstrap" / "settings.json").exists()
    assert not (home / ".local" / "state" / "jupyter-bootstrap" / "state.json").exists()
    assert (home / "Notebooks" / "work.ipynb").read_text() == "{}"
    assert (home / "certs" / "mycert.pem").exists()
    assert "nothing" in flat(invoke("uninstall", "--yes").output).lower()


def test_a_config_that_held_only_our_block_is_deleted(installed: FakeSystemd, home: Path) -> None:
    assert invoke("uninstall", "--yes").exit_code == 0
    assert not (home / ".jupyter" / "jupyter_server_config.py").exists()


def test_uninstall_leaves_a_unit_that_is_not_ours(installed: FakeSystemd) -> None:
    (installed.unit_dir / UNIT).write_text("[Service]\nExecStart=/bin/true\n")
    result = invoke("uninstall", "--yes")
    assert result.exit_code == 0, result.output
    assert (installed.unit_dir / UNIT).read_text() == "[Service]\nExecStart=/bin/true\n"
    assert installed.changes() == []
    assert "not written by jupyter-bootstrap" in flat(result.output)


def fake_conda(prefix: Path) -> Path:
    """What marks a conda base install (conda.is_base_install): its history and command."""
    (prefix / "conda-meta").mkdir(parents=True)
    (prefix / "conda-meta" / "history").write_text("")
    (prefix / "bin").mkdir()
    (prefix / "bin" / "conda").write_text("#!/bin/sh\n")
    return prefix


def point_settings_at(home: Path, **changes: str) -> None:
    path = home / ".config" / "jupyter-bootstrap" / "settings.json"
    settings = json.loads(path.read_text())
    settings.update(changes)
    path.write_text(json.dumps(settings))


def test_purge_deletes_certificate_conda_and_files_never_notebooks(
    installed: FakeSystemd, home: Path
) -> None:
    conda_prefix = fake_conda(home / "miniforge3")
    point_settings_at(home, prefix=str(conda_prefix))
    # --purge deletes only a conda the agent installed (test_conda_ownership.py: a found one).
    stamp = "2026-12-01T10:00:00Z"
    record = records.CondaRecord(conda_prefix, records.INSTALLED, "Miniforge3.sh", stamp, stamp)
    records.record_conda(home / ".local" / "state" / "jupyter-bootstrap", record)
    (home / "Notebooks" / "work.ipynb").write_text("{}")
    result = invoke("uninstall", "--yes", "--purge")
    assert result.exit_code == 0, result.output
    assert not conda_prefix.exists()
    assert not (home / "certs").exists()
    assert not (home / ".local" / "state" / "jupyter-bootstrap").exists()
    assert (home / "Notebooks" / "work.ipynb").read_text() == "{}"


def test_purge_keeps_a_prefix_that_holds_the_notebooks(installed: FakeSystemd, home: Path) -> None:
    conda_prefix = fake_conda(home / "anaconda3")
    notebooks = conda_prefix / "notebooks"
    notebooks.mkdir()
    point_settings_at(home, prefix=str(conda_prefix), notebook_dir=str(notebooks))
    result = invoke("uninstall", "--yes", "--purge")
    assert result.exit_code == 0, result.output
    assert notebooks.is_dir() and (conda_prefix / "bin" / "conda").exists()
    assert "delete it yourself" in flat(result.output)


def test_purge_keeps_a_prefix_that_is_not_a_conda_install(
    installed: FakeSystemd, jupyter_prefix: Path
) -> None:
    result = invoke("uninstall", "--yes", "--purge")
    assert result.exit_code == 0, result.output
    assert (jupyter_prefix / "bin" / "jupyter").exists()


def test_confirmation_no_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(click, "confirm", lambda question, default: False)
    assert uninstall.confirm("Go ahead?", assume_yes=False, tty=True) is False
    assert uninstall.confirm("Go ahead?", assume_yes=True, tty=False) is True
    with pytest.raises(UserError, match="no terminal"):
        uninstall.confirm("Go ahead?", assume_yes=False, tty=False)


def test_without_block_keeps_user_lines_exactly() -> None:
    from jupyter_bootstrap import managed_block

    mine_before, mine_after = "# mine\nc.A.b = 1\n", "c.C.d = 2\n"
    text = managed_block.render(mine_before, "c.X.y = 3\n") + "\n" + mine_after
    assert managed_block.remove(text) == mine_before + "\n" + mine_after
    assert managed_block.remove(managed_block.render("", "c.X.y = 3\n")) == ""


# -- sudo ----------------------------------------------------------------------------------------


@pytest.fixture
def sudo_wants_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """A login user (not root) whose sudo asks for a password."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setenv("FAKE_SUDO_PASSWORDLESS", "0")


def test_sudo_wanting_a_password_without_a_terminal_is_exit_2(
    fake: FakeSystemd,
    sudo_wants_password: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sudo, "have_terminal", lambda: False)
    with pytest.raises(UserError) as refused:
        sudo.ensure("install and start the jupyter.service service")
    assert refused.value.exit_code == 2
    assert "no terminal" in refused.value.message
    assert refused.value.hint is not None and "--no-service" in refused.value.hint


def test_init_stops_before_any_change_when_sudo_cannot_ask(
    fake: FakeSystemd,
    monkeypatch: pytest.MonkeyPatch,
    home: Path,
    jupyter_prefix: Path,
    port: int,
    sudo_wants_password: None,
) -> None:
    monkeypatch.setattr(sudo, "have_terminal", lambda: False)
    output = init_on_port(jupyter_prefix, port, code=2)
    assert "error: service: sudo needs a password" in flat(output)
    assert not (home / ".config" / "jupyter-bootstrap").exists()
    assert not (home / "certs").exists()
    assert fake.changes() == []


def test_a_terminal_user_sudo_refuses_is_told_before_any_change(
    fake: FakeSystemd,
    monkeypatch: pytest.MonkeyPatch,
    home: Path,
    jupyter_prefix: Path,
    port: int,
    sudo_wants_password: None,
) -> None:
    """sudo is asked with the other questions (the fake refuses every password): a user
    without sudo rights learns it before the password is stored or anything is written."""
    monkeypatch.setattr(sudo, "have_terminal", lambda: True)
    output = init_on_port(jupyter_prefix, port, code=2)
    assert "error: service: sudo did not accept the password" in flat(output)
    assert not (home / ".config" / "jupyter-bootstrap").exists()
    assert not (home / "certs").exists()
    assert fake.changes() == []


def test_sudo_with_a_terminal_asks_once(
    fake: FakeSystemd,
    sudo_wants_password: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sudo, "have_terminal", lambda: True)
    with pytest.raises(UserError, match="did not accept the password"):  # the fake says no
        sudo.ensure("read the system journal")
    monkeypatch.setenv("FAKE_SUDO_PASSWORDLESS", "1")
    sudo.ensure("read the system journal")  # passwordless: no question at all


# -- who holds a port --------------------------------------------------------------------------


def test_the_holder_of_a_port_is_named(port: int) -> None:
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
        sock.bind(("::1", port))
        sock.listen()
        (holder,) = port_owner.holders(port)
    assert holder.pid == os.getpid()
    assert "python" in holder.command or "pytest" in holder.command
    assert not port_owner.holders(port)


def test_the_proc_tables_are_read_as_the_kernel_writes_them(tmp_path: Path) -> None:
    (tmp_path / "net").mkdir()
    header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid"
    rows = [
        # 0.0.0.0:8888 listening, 127.0.0.1:8888 connected (not a listener), :22 listening
        "   0: 00000000:22B8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000 0 111",
        "   1: 0100007F:22B8 0100007F:D431 01 00000000:00000000 00:00000000 00000000  1000 0 222",
        "   2: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0 0 333",
    ]
    (tmp_path / "net" / "tcp").write_text("\n".join([header, *rows]) + "\n")
    assert port_owner.listening_inodes(8888, tmp_path) == {111}
    assert port_owner.listening_inodes(22, tmp_path) == {333}
    assert port_owner.listening_inodes(8889, tmp_path) == set()
