"""The e2e test machine itself: it must look like a fresh Ubuntu cloud instance to the agent."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.instance import (
    LOGIN_USER,
    InstanceCommandError,
    InstanceFactory,
    SystemdInstance,
    wait_for_tcp,
)
from tests.support.net import free_port

pytestmark = pytest.mark.e2e

SERVICE = "jb-e2e-http.service"


@pytest.fixture(scope="module")
def machine(systemd_instance_factory: InstanceFactory) -> Iterator[SystemdInstance]:
    """An instance of this module's own: these tests reboot it, and it must stay venv-less."""
    instance = systemd_instance_factory()
    try:
        yield instance
    finally:
        instance.shutdown()


def http_get(port: int, path: str = "/") -> str:
    # No proxies: the host's environment may name one, and this is loopback traffic.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return str(response.read().decode())


def test_boots_to_running_without_failed_units(machine: SystemdInstance) -> None:
    assert machine.system_state() == "running", machine.failed_units()
    assert machine.run("cat /proc/1/comm").stdout.strip() == "systemd"


def test_login_user_is_ubuntu_with_passwordless_sudo(machine: SystemdInstance) -> None:
    result = machine.run('id -u; echo "$HOME"; sudo -n true && echo sudo-ok', user=LOGIN_USER)
    assert result.stdout.split() == ["1000", "/home/ubuntu", "sudo-ok"]


def test_login_shell_reads_profile(machine: SystemdInstance) -> None:
    # ~/.profile adds ~/.local/bin only if it exists at login, exactly as on Ubuntu.
    before = machine.run('echo "$PATH"', user=LOGIN_USER).stdout
    machine.run("mkdir -p ~/.local/bin", user=LOGIN_USER)
    after = machine.run('echo "$PATH"', user=LOGIN_USER).stdout
    assert "/home/ubuntu/.local/bin" not in before
    assert after.startswith("/home/ubuntu/.local/bin:")


def test_python3_is_there_but_venv_is_not(machine: SystemdInstance) -> None:
    assert machine.run("python3 --version", user=LOGIN_USER).stdout.startswith("Python 3.")
    result = machine.run("python3 -m venv /tmp/v", user=LOGIN_USER, check=False)
    assert result.returncode != 0
    assert "ensurepip" in result.stdout + result.stderr


def test_device_nodes_are_the_instances_own(machine: SystemdInstance) -> None:
    """A chmod inside must never reach the host's node (a bound /dev/null once became
    0620 root:tty on the host)."""
    host_modes = {n: os.stat(f"/dev/{n}").st_mode for n in ("null", "zero", "urandom", "tty")}
    listing = machine.run("stat -c '%n %F %t:%T %a' /dev/null /dev/zero /dev/urandom /dev/tty")
    assert listing.stdout.split("\n")[:4] == [
        "/dev/null character special file 1:3 666",
        "/dev/zero character special file 1:5 666",
        "/dev/urandom character special file 1:9 666",
        "/dev/tty character special file 5:0 666",
    ]
    machine.run("chmod 0600 /dev/null /dev/zero /dev/urandom /dev/tty")
    try:
        assert {n: os.stat(f"/dev/{n}").st_mode for n in host_modes} == host_modes
    finally:
        machine.run("chmod 0666 /dev/null /dev/zero /dev/urandom /dev/tty")
    assert machine.run("echo x > /dev/null && echo ok", user=LOGIN_USER).stdout.strip() == "ok"


def test_command_errors_carry_the_output(machine: SystemdInstance) -> None:
    with pytest.raises(InstanceCommandError, match="boom"):
        machine.run("echo boom >&2; exit 3")


def test_files_go_in_with_owner_and_mode(machine: SystemdInstance, tmp_path: Path) -> None:
    machine.write_file("/home/ubuntu/certs/x.key", "secret\n", owner=LOGIN_USER, mode=0o600)
    stat = machine.run("stat -c '%U %a' /home/ubuntu/certs /home/ubuntu/certs/x.key").stdout
    assert stat.split("\n")[:2] == ["ubuntu 755", "ubuntu 600"]
    assert machine.read_file("/home/ubuntu/certs/x.key", user=LOGIN_USER) == "secret\n"

    (tmp_path / "tree" / "sub").mkdir(parents=True)
    (tmp_path / "tree" / "sub" / "run.sh").write_text("#!/bin/sh\necho ran\n")
    (tmp_path / "tree" / "sub" / "run.sh").chmod(0o755)
    machine.copy_in(tmp_path / "tree", "/home/ubuntu/a/tree", owner=LOGIN_USER)
    assert machine.run("~/a/tree/sub/run.sh", user=LOGIN_USER).stdout == "ran\n"
    owners = machine.run("stat -c %U /home/ubuntu/a /home/ubuntu/a/tree/sub/run.sh").stdout
    assert owners.split() == ["ubuntu", "ubuntu"]


def test_enabled_service_is_reachable_from_host_and_survives_reboot(
    machine: SystemdInstance,
) -> None:
    port = free_port()
    machine.write_file("/srv/www/hello.txt", "hello from the instance\n", owner=LOGIN_USER)
    machine.write_file(
        f"/etc/systemd/system/{SERVICE}",
        "[Unit]\nDescription=e2e smoke HTTP server\n\n"
        "[Service]\nUser=ubuntu\n"
        f"ExecStart=/usr/bin/python3 -m http.server --bind 127.0.0.1 {port}"
        " --directory /srv/www\nRestart=always\n\n"
        "[Install]\nWantedBy=multi-user.target\n",
    )
    machine.run(["systemctl", "daemon-reload"])
    machine.run(["systemctl", "enable", "--now", SERVICE])
    wait_for_tcp(port)
    assert http_get(port, "/hello.txt") == "hello from the instance\n"

    boots = machine.boots
    for clean in (False, True):  # pulling the plug, then `systemctl reboot`
        machine.reboot(clean=clean)
        # A reboot is a fresh systemd: the unit comes back because it is enabled.
        wait_for_tcp(port)
        assert http_get(port, "/hello.txt") == "hello from the instance\n"
        assert machine.run(["systemctl", "is-active", SERVICE]).stdout.strip() == "active"
        assert machine.system_state() == "running", machine.failed_units()
    assert machine.boots == boots + 2
    log = machine.console_log.read_text()
    assert "Stopped jb-e2e-http.service" in log  # the clean reboot stopped it


def test_make_venv_installs_from_pypi(systemd_instance: SystemdInstance) -> None:
    # The shared instance: this installs python3-venv into it, as a user would with apt.
    python = systemd_instance.make_venv("/home/ubuntu/.venvs/smoke", ["six"])
    result = systemd_instance.run(f"{python} -c 'import six; print(six.__name__)'", user=LOGIN_USER)
    assert result.stdout.strip() == "six"
