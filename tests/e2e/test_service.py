"""The Jupyter service on real systemd, as user ubuntu in a booted Debian instance
(tests/e2e/instance.py): what a user of the service lives through, in order, in one instance.

The tests build on each other (install, re-run, crash, reboot, drift, uninstall) like a
user's week on one machine, so they run in file order and share the module's instance.
The network namespace is the host's: logins go from this process to 127.0.0.1:PORT.
"""

from __future__ import annotations

import json
import shlex
import socket
import ssl
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from jupyter_bootstrap.service import port_owner
from jupyter_bootstrap.service import unit as units
from tests.e2e.instance import SystemdInstance
from tests.support.e2e_agent import (
    HOME,
    PASSWORD,
    USER,
    assert_login_works,
    login,
    prepare,
    run_agent,
    wait_for_https,
    wait_until,
)
from tests.support.jupyter_kernels import execute, websocket_exchange
from tests.support.net import free_port
from tests.support.report import step_lines, step_states

pytestmark = pytest.mark.e2e

JUPYTER_ENV = f"{HOME}/jupyter-env"
CERTFILE = f"{HOME}/certs/mycert.pem"
CONFIG = f"{HOME}/.jupyter/jupyter_server_config.py"
NOTEBOOKS = f"{HOME}/Notebooks"
UNIT = "jupyter.service"
UNIT_PATH = f"/etc/systemd/system/{UNIT}"
SETTINGS = f"{HOME}/.config/jupyter-bootstrap/settings.json"
DEFAULT_PORT = 8888
STEPS = ["host", "conda", "shell", "jupyter", "password", "certificate", "config", "service"]
STEPS += ["kernels", "autostop", "renewal", "health"]


# -- getting the agent and Jupyter into the instance ------------------------------------------


@dataclass
class Box:
    """The instance with the agent installed, and the port the service listens on."""

    instance: SystemdInstance
    port: int
    tmp: Path

    def agent(
        self, *args: str, input: Optional[str] = None, code: Optional[int] = 0
    ) -> subprocess.CompletedProcess[str]:
        return run_agent(self.instance, *args, input=input, code=code)

    def root(self, cmd: str, check: bool = True) -> str:
        return self.instance.run(cmd, check=check).stdout.strip()

    def main_pid(self) -> int:
        return int(self.root(f"systemctl show -p MainPID --value {UNIT}") or 0)

    def unit_is(self, query: str) -> str:
        return self.root(f"systemctl {query} {UNIT}", check=False)

    def cafile(self, user: str = USER) -> str:
        """The certificate the server uses now, copied out to verify TLS against."""
        path = self.tmp / f"cert-{uuid.uuid4().hex}.pem"
        path.write_text(self.instance.read_file(f"/home/{user}/certs/mycert.pem"))
        return str(path)

    def starts_logged(self) -> int:
        """How often systemd has started the unit (its journal's "Started" lines)."""
        log = self.root(f"journalctl -u {UNIT} -o cat --no-pager")
        return sum(1 for line in log.splitlines() if line.startswith("Started "))


@pytest.fixture(scope="module")
def box(
    systemd_instance_factory: Callable[[], SystemdInstance],
    agent_wheel: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Box]:
    instance = systemd_instance_factory()
    try:
        prepare(instance, agent_wheel, JUPYTER_ENV)
        yield Box(instance, free_port(), tmp_path_factory.mktemp("certs"))
    finally:
        instance.shutdown()


# -- talking to the server from outside, like the browser -------------------------------------


KERNEL_CODE = """
import os, pathlib, tempfile
pathlib.Path(tempfile.gettempdir(), "jb-e2e-private-tmp").write_text("x")
pathlib.Path.home().joinpath("Notebooks", "written-by-kernel.txt").write_text("y")
no_new_privs = "NoNewPrivs:\\t1" in open("/proc/self/status").read()
print("E2E", 6 * 7, no_new_privs, os.getuid())
"""


def run_in_kernel(port: int, session: requests.Session, xsrf: str, cafile: str) -> str:
    base = f"https://localhost:{port}"
    kernel = session.post(
        f"{base}/api/kernels", json={}, headers={"X-XSRFToken": xsrf}, verify=cafile, timeout=60
    )
    assert kernel.status_code == 201, kernel.text
    return execute(port, session, cafile, kernel.json()["id"], KERNEL_CODE)


def run_in_terminal(port: int, session: requests.Session, xsrf: str, cafile: str) -> str:
    base = f"https://localhost:{port}"
    terminal = session.post(
        f"{base}/api/terminals", headers={"X-XSRFToken": xsrf}, verify=cafile, timeout=30
    )
    assert terminal.status_code == 200, terminal.text
    url = f"wss://localhost:{port}/terminals/websocket/{terminal.json()['name']}"
    replies = websocket_exchange(
        url, session, cafile, json.dumps(["stdin", "echo TERM-$((6*7)) $(id -un)\r"]),
        lambda message: "TERM-42" in message,
    )  # fmt: skip
    return replies[-1]


# -- the Must-show list ---------------------------------------------------------------------


def test_init_runs_jupyter_as_an_enabled_service_with_https_login(box: Box) -> None:
    result = box.agent(
        "init", "--prefix", JUPYTER_ENV, "--password-stdin", "--port", str(box.port),
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert step_states(result.stdout)["service"] == "changed"
    assert step_states(result.stdout)["health"] == "ok"
    assert box.unit_is("is-enabled") == "enabled"
    assert box.unit_is("is-active") == "active"
    assert_login_works(box.port, box.cafile())


def test_info_and_the_exported_certificate_as_the_login_user(box: Box) -> None:
    text = box.agent("info").stdout
    assert f":{box.port}/" in text and "running for" in text
    assert "jupyter-bootstrap cert export -o ~/jupyter.crt" in text
    # Exactly as info says, then used as the only trust anchor of a fresh client.
    box.agent("cert", "export", "-o", "~/jupyter.crt")  # quoted: the agent expands the ~
    assert box.root(f"stat -c '%U %a' {HOME}/jupyter.crt") == f"{USER} 644"
    exported = box.tmp / "exported.crt"
    exported.write_text(box.instance.read_file(f"{HOME}/jupyter.crt"))
    assert_login_works(box.port, str(exported))
    refused = box.agent("cert", "export", "-o", "/root/jupyter.crt", code=2)
    assert f"{USER} may not write in /root" in " ".join(refused.stderr.split())
    assert "Traceback" not in refused.stderr


def test_kernels_and_terminals_work_under_the_hardening(box: Box) -> None:
    cafile = box.cafile()
    status, session, xsrf = login(box.port, PASSWORD, cafile)
    assert status == 302
    assert run_in_kernel(box.port, session, xsrf, cafile) == "E2E 42 True 1000"
    assert "TERM-42 ubuntu" in run_in_terminal(box.port, session, xsrf, cafile)
    # The kernel's /tmp is the service's own (PrivateTmp=yes); its notebook folder is real.
    assert box.root("test -e /tmp/jb-e2e-private-tmp && echo yes || echo no") == "no"
    assert box.root(f"cat {NOTEBOOKS}/written-by-kernel.txt") == "y"


def test_a_second_init_changes_nothing(box: Box) -> None:
    pid = box.main_pid()
    unit_before = box.root(f"sha256sum {UNIT_PATH}; stat -c %Y.%Z {UNIT_PATH}")
    result = box.agent("init")
    assert step_states(result.stdout) == dict.fromkeys(STEPS, "ok"), result.stdout
    assert box.main_pid() == pid
    assert box.root(f"sha256sum {UNIT_PATH}; stat -c %Y.%Z {UNIT_PATH}") == unit_before


def test_a_config_mode_change_alone_is_repaired_without_a_restart(box: Box) -> None:
    """Only the mode of the Jupyter config drifted: it is 600 again, and the server, which
    read these very bytes, keeps running."""
    pid = box.main_pid()
    box.instance.run(f"chmod 644 {CONFIG}", user=USER)
    assert box.root(f"stat -c %a {CONFIG}") == "644"
    result = box.agent("init")
    states = step_states(result.stdout)
    assert (states["config"], states["service"], states["health"]) == ("changed", "ok", "ok"), (
        result.stdout
    )
    lines = step_lines(result.stdout)
    assert "mode" in lines["config"], result.stdout
    assert "restarted" not in lines["service"], result.stdout
    assert box.root(f"stat -c %a {CONFIG}") == "600"
    assert box.main_pid() == pid
    assert_login_works(box.port, box.cafile())


def test_status_json_logs_and_restart(box: Box) -> None:
    status = box.agent("status")
    assert "running for" in status.stdout and f"pid {box.main_pid()}" in status.stdout
    document = json.loads(box.agent("status", "--json").stdout)
    service = document["service"]
    assert document["ok"] is True and document["exit_code"] == 0
    assert (service["enabled"], service["active"], service["ours"]) == (True, True, True)
    assert service["main_pid"] == box.main_pid()
    assert isinstance(service["uptime_seconds"], int) and service["active_since"].endswith("Z")
    assert document["url"].endswith(f":{box.port}/")
    logs = box.agent("logs", "-n", "200").stdout
    assert "Jupyter Server" in logs and "is running at" in logs
    pid = box.main_pid()
    restarted = box.agent("restart")
    assert step_states(restarted.stdout) == {"service": "changed", "health": "ok"}
    assert box.main_pid() not in (0, pid)


def test_a_unit_that_is_not_ours_is_left_alone(box: Box) -> None:
    foreign = "[Service]\nExecStart=/bin/sleep infinity\n"
    box.instance.write_file("/etc/systemd/system/lab.service", foreign)
    result = box.agent("init", "--service-name", "lab", code=2)
    assert "was not written by jupyter-bootstrap" in result.stderr
    assert "--service-name" in result.stderr
    assert box.instance.read_file("/etc/systemd/system/lab.service") == foreign
    box.root("rm /etc/systemd/system/lab.service")


def test_kill_9_brings_it_back_within_10_seconds(box: Box) -> None:
    pid = box.main_pid()
    box.root(f"kill -9 {pid}")
    back = wait_until(lambda: box.main_pid() not in (0, pid), 10, "a new Jupyter process")
    wait_for_https(box.port, box.cafile(), 10 - back)
    assert box.unit_is("is-active") == "active"


def test_after_a_reboot_the_service_is_back_and_login_works(box: Box) -> None:
    box.instance.reboot()
    wait_until(lambda: box.unit_is("is-active") == "active", 30, "jupyter active after boot")
    cafile = box.cafile()
    wait_for_https(box.port, cafile, 60)
    assert_login_works(box.port, cafile)


def test_stop_and_disable_by_hand_is_drift_that_init_repairs(box: Box) -> None:
    box.root(f"systemctl stop {UNIT} && systemctl disable --quiet {UNIT}")
    status = box.agent("status", code=3)
    flat = " ".join(status.stdout.split())
    assert "jupyter.service is not enabled (disabled)" in flat
    assert "jupyter.service is not running (inactive (dead))" in flat
    assert "Drift found in: service, health" in flat
    result = box.agent("init")
    assert step_states(result.stdout)["service"] == "changed"
    assert (box.unit_is("is-enabled"), box.unit_is("is-active")) == ("enabled", "active")
    assert_login_works(box.port, box.cafile())


def settings_port() -> str:
    return f"python3 -c \"import json; print(json.load(open('{SETTINGS}'))['port'])\""


def test_a_unit_edited_and_restarted_by_hand_is_repaired(box: Box) -> None:
    """Our own record of the last start says all is well; systemd runs something else."""
    other = free_port()
    box.root(
        f'sed -i \'s|"--config=|"--ServerApp.port={other}" "--config=|\' {UNIT_PATH} && '
        f"systemctl daemon-reload && systemctl restart {UNIT}"
    )
    wait_for_https(other, box.cafile(), 60)
    result = box.agent("init")
    lines = step_lines(result.stdout)
    assert step_states(result.stdout)["service"] == "changed", result.stdout
    assert f"--ServerApp.port={other}" in lines["service"], result.stdout
    assert "restarted it" in lines["service"], result.stdout
    assert "--ServerApp.port" not in box.instance.read_file(UNIT_PATH)
    assert_login_works(box.port, box.cafile())
    assert step_states(box.agent("init").stdout) == dict.fromkeys(STEPS, "ok")


def test_a_busy_port_is_refused_and_the_server_keeps_running(box: Box) -> None:
    pid, config = box.main_pid(), box.instance.read_file(CONFIG)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        busy = listener.getsockname()[1]
        result = box.agent("init", "--port", str(busy), code=2)
    flat = " ".join(result.stderr.split())
    assert f"port {busy} is already in use" in flat and "nothing was changed" in flat
    assert box.main_pid() == pid
    assert box.instance.read_file(CONFIG) == config
    assert box.instance.run(settings_port(), user=USER).stdout.strip() == str(box.port)
    assert_login_works(box.port, box.cafile())


def restarts(box: Box) -> int:
    """How often systemd restarted the unit by itself since it was last started."""
    return int(box.root(f"systemctl show -p NRestarts --value {UNIT}") or 0)


def test_a_unit_restarting_in_a_loop_behind_an_answering_server_is_not_converged(
    box: Box,
) -> None:
    """A Jupyter started by hand with our very config holds the port and answers with our
    certificate, so the unit's own server cannot bind and systemd restarts it again and
    again. Between two tries the unit looks running and the server answers: a re-run that
    trusted that would call the machine converged. systemd's restart count tells it apart,
    and the re-run names the port's holder as it does for any Jupyter started by hand."""
    box.root(f"systemctl stop {UNIT}")
    box.root(
        f"systemd-run --quiet --uid={USER} --gid={USER} --unit=by-hand-jupyter "
        f"--working-directory={HOME} {JUPYTER_ENV}/bin/jupyter server --config={CONFIG}"
    )
    try:
        wait_for_https(box.port, box.cafile(), 60)
        by_hand = box.root("systemctl show -p MainPID --value by-hand-jupyter")
        box.root(f"systemctl start {UNIT}")
        wait_until(lambda: restarts(box) >= 1, 60, "systemd restarting the unit")

        # Whenever it is asked, status must not call this converged; when it catches the
        # unit looking running, it says why it is not.
        def status_names_the_port() -> bool:
            said = " ".join(box.agent("status", code=3).stdout.split())
            return f"{UNIT} keeps restarting: Jupyter cannot start while port {box.port}" in said

        wait_until(status_names_the_port, 60, "status catching the unit looking running")
        refused = " ".join(box.agent("init", code=2).stderr.split())
        assert f"port {box.port} is already in use by process {by_hand}" in refused, refused
        assert "--replace-running" in refused and "nothing was changed" in refused
        replaced = " ".join(box.agent("init", "--replace-running").stdout.split())
        assert f"stopped the Jupyter started by hand (pid {by_hand})" in replaced, replaced
        wait_until(lambda: box.unit_is("is-active") == "active", 30, "the unit running")
        assert_login_works(box.port, box.cafile())
        assert step_states(box.agent("init").stdout) == dict.fromkeys(STEPS, "ok")
    finally:
        box.root("systemctl stop by-hand-jupyter; systemctl reset-failed by-hand-jupyter", False)


def test_a_port_below_1024_works_without_root(box: Box) -> None:
    low = next(p for p in range(990, 1024) if not port_owner.listening_inodes(p))
    box.agent("init", "--port", str(low))
    assert "AmbientCapabilities=CAP_NET_BIND_SERVICE" in box.instance.read_file(UNIT_PATH)
    assert box.root(f"stat -c %U /proc/{box.main_pid()}") == USER
    assert_login_works(low, box.cafile())
    # Jupyter with the capability hides its sockets from its own user: still ours.
    again = box.agent("init")
    assert step_states(again.stdout) == dict.fromkeys(STEPS, "ok"), again.stdout
    box.agent("init", "--port", str(box.port))
    assert "AmbientCapabilities" not in box.instance.read_file(UNIT_PATH)
    assert_login_works(box.port, box.cafile())


def test_a_change_that_breaks_the_server_is_rolled_back(box: Box) -> None:
    """A line of the user's that stops Jupyter from starting: init fails (exit 1), says so,
    and leaves the last working setup running, the failing config kept as a backup."""
    good = box.instance.read_file(CONFIG)
    box.instance.run(
        f"echo \"c.ServerApp.certfile = '/nonexistent/cert.pem'\" >> {CONFIG}", user=USER
    )
    result = box.agent("init", code=1)
    flat = " ".join(result.stderr.split())
    assert "rolled back" in flat and f"answers again on port {box.port}" in flat, flat
    assert box.instance.read_file(CONFIG) == good
    backups = box.root(f"ls {HOME}/.jupyter").split()
    assert any(name.startswith("jupyter_server_config.py.bak-") for name in backups)
    assert box.unit_is("is-active") == "active"
    assert_login_works(box.port, box.cafile())
    assert step_states(box.agent("init").stdout) == dict.fromkeys(STEPS, "ok")


def test_a_deleted_certificate_is_regenerated_and_kernels_live_on(box: Box) -> None:
    old_cafile = box.cafile()
    status, session, xsrf = login(box.port, PASSWORD, old_cafile)
    assert status == 302
    started = session.post(
        f"https://localhost:{box.port}/api/kernels", json={}, headers={"X-XSRFToken": xsrf},
        verify=old_cafile, timeout=60,
    )  # fmt: skip
    kernel = started.json()["id"]
    assert execute(box.port, session, old_cafile, kernel, "x = 41; print('set')") == "set"
    pid, starts = box.main_pid(), box.starts_logged()

    box.root(f"rm {CERTFILE}")
    result = box.agent("init")
    states = step_states(result.stdout)
    assert (states["certificate"], states["service"], states["health"]) == ("changed", "ok", "ok")
    cafile = box.cafile()
    assert Path(cafile).read_text() != Path(old_cafile).read_text()
    # New connections get the new certificate, from the same process: no restart.
    served = ssl.get_server_certificate(("127.0.0.1", box.port))
    assert ssl.PEM_cert_to_DER_cert(served) == ssl.PEM_cert_to_DER_cert(
        x509.load_pem_x509_certificate(Path(cafile).read_bytes())
        .public_bytes(serialization.Encoding.PEM)
        .decode()
    )
    time.sleep(1)  # let journald catch up before counting
    assert (box.main_pid(), box.starts_logged()) == (pid, starts)
    # The kernel started before the new certificate is alive, its state intact.
    assert execute(box.port, session, cafile, kernel, "print(x + 1)") == "42"
    assert_login_works(box.port, cafile)


def test_a_new_password_restarts_once_and_is_the_one_that_works(box: Box) -> None:
    pid, starts = box.main_pid(), box.starts_logged()
    new_password = "a brand new e2e password"
    result = box.agent("password", "--password-stdin", input=new_password + "\n")
    assert "Jupyter config changed" in " ".join(result.stdout.split())
    assert box.main_pid() not in (0, pid)
    time.sleep(1)  # let journald catch up before counting
    assert box.starts_logged() == starts + 1
    cafile = box.cafile()
    assert login(box.port, new_password, cafile)[0] == 302
    assert login(box.port, PASSWORD, cafile)[0] == 401


LITERAL_PROBE = """#!/bin/sh
{ printf '%s\\n' "$@"; pwd; printf '%s\\n' "$PATH"; } > /srv/jb-out/seen
"""


def test_unit_values_reach_the_program_literally(box: Box) -> None:
    """Spaces, %, $, quotes and backslashes in the paths: our unit, run by systemd, hands
    the program exactly these arguments, working directory and PATH."""
    values = units.UnitValues(
        user=USER,
        group=USER,
        notebook_dir=Path('/srv/jb-out/my notebooks 100% "$HOME" \\b'),
        jupyter_bin=Path("/opt/conda 50% %i/bin/jupyter"),
        app="lab",
        config_file=Path('/srv/j "c" %n $x \\y.py'),
    )
    box.instance.write_file(str(values.jupyter_bin), LITERAL_PROBE, mode=0o755)
    box.root(f"mkdir -p {shlex.quote(str(values.notebook_dir))} && chown -R {USER} /srv/jb-out")
    box.instance.write_file("/etc/systemd/system/jb-literals.service", units.render(values))
    box.root("systemctl daemon-reload && systemctl start jb-literals.service")
    wait_until(
        lambda: box.root("test -s /srv/jb-out/seen && echo yes", check=False) == "yes",
        10,
        "the probe program ran",
    )
    seen = box.instance.read_file("/srv/jb-out/seen").splitlines()
    box.root("rm /etc/systemd/system/jb-literals.service && systemctl daemon-reload")
    assert seen == [
        "lab",
        f"--config={values.config_file}",
        str(values.notebook_dir),
        f"{values.jupyter_bin.parent}:/usr/local/bin:/usr/bin:/bin",
    ]


ALICE = "alice"  # a login user whose sudo asks for her password (not the cloud default)
ALICE_SUDO = "alice's sudo password"


def as_alice_in_a_terminal(box: Box, args: list[str]) -> subprocess.CompletedProcess[str]:
    """`jupyter-bootstrap ARGS` as alice on a pseudo-terminal (script), typing her sudo
    password whenever sudo asks (a line every half second: sudo may drop early input)."""
    command = shlex.join(["jupyter-bootstrap", *args])
    typing = f"for i in $(seq 60); do sleep 0.5; echo {shlex.quote(ALICE_SUDO)}; done"
    script = f"({typing}) | script -qec {shlex.quote(command)} /dev/null"
    return box.instance.run(
        script, user=ALICE, check=False, timeout=120, env={"JUPYTER_BOOTSTRAP_METADATA_URL": "off"}
    )


def test_sudo_that_wants_a_password_asks_on_a_terminal_only(box: Box) -> None:
    from jupyter_bootstrap.jupyter_hash import hash_password

    box.root(
        f"useradd --create-home --shell /bin/bash {ALICE}"
        f" && echo {shlex.quote(f'{ALICE}:{ALICE_SUDO}')} | chpasswd"
        f" && echo '{ALICE} ALL=(ALL) ALL' > /etc/sudoers.d/{ALICE}"
        f" && chmod 0440 /etc/sudoers.d/{ALICE} && chmod 0755 {HOME}"
    )
    port, password = free_port(), "alice's jupyter password"
    args = ["init", "--prefix", JUPYTER_ENV, "--password-hash", hash_password(password),
            "--port", str(port), "--service-name", "jupyter-alice"]  # fmt: skip
    # No terminal (cloud-init, a pipe): exit 2 with the reason, before anything is written.
    piped = box.instance.run(
        shlex.join(["jupyter-bootstrap", *args]), user=ALICE, check=False,
        env={"JUPYTER_BOOTSTRAP_METADATA_URL": "off"},
    )  # fmt: skip
    assert piped.returncode == 2, piped.stdout + piped.stderr
    assert "sudo needs a password" in piped.stderr and "no terminal" in piped.stderr
    settings = f"/home/{ALICE}/.config/jupyter-bootstrap"
    assert box.root(f"test -e {settings} && echo yes || echo no") == "no"
    # In a terminal sudo asks once, and the service is installed and answers.
    typed = as_alice_in_a_terminal(box, args)
    assert typed.returncode == 0, typed.stdout + typed.stderr
    prompt = "[sudo] password for alice (to install and start the jupyter-alice.service"
    assert prompt in typed.stdout
    assert box.root("systemctl is-active jupyter-alice.service") == "active"
    assert login(port, password, box.cafile(ALICE))[0] == 302
    removed = as_alice_in_a_terminal(box, ["uninstall", "--yes"])
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert box.root("test -e /etc/systemd/system/jupyter-alice.service || echo gone") == "gone"


def test_uninstall_removes_the_service_and_keeps_the_notebooks(box: Box) -> None:
    box.instance.write_file(f"{NOTEBOOKS}/keep.ipynb", "{}", owner=USER)
    result = box.agent("uninstall", "--yes")
    assert "removed /etc/systemd/system/jupyter.service" in " ".join(result.stdout.split())
    assert box.root(f"test -e {UNIT_PATH} && echo yes || echo no") == "no"
    assert box.unit_is("is-enabled") != "enabled"
    assert box.unit_is("is-active") != "active"
    assert port_owner.listening_inodes(box.port) == set()
    assert box.instance.read_file(f"{NOTEBOOKS}/keep.ipynb") == "{}"
    assert box.root(f"test -e {CERTFILE} && echo kept") == "kept"  # only --purge deletes it


def test_default_port_8888_from_a_fresh_setup(box: Box) -> None:
    """Everything above used a free port; the default one once, end to end. The port is
    shared with the host: wait for it, and name whoever holds it if it stays busy."""
    try:
        wait_until(lambda: not port_owner.holders(DEFAULT_PORT), 30, "port 8888 free")
    except AssertionError:
        holders = ", ".join(h.describe() for h in port_owner.holders(DEFAULT_PORT))
        pytest.fail(f"port {DEFAULT_PORT} stays busy on this host: {holders}")
    box.agent("init", "--prefix", JUPYTER_ENV, "--password-stdin", input=PASSWORD + "\n")
    cafile = box.cafile()
    status, _, _ = login(DEFAULT_PORT, PASSWORD, cafile)
    assert status == 302
    assert login(DEFAULT_PORT, "wrong password", cafile)[0] == 401
    purge = box.agent("uninstall", "--yes", "--purge")
    assert "deleted" in purge.stdout
    assert box.root(f"test -e {CERTFILE} && echo yes || echo no") == "no"
    assert box.root(f"test -d {JUPYTER_ENV} && echo kept") == "kept"  # not a conda install
    assert box.instance.read_file(f"{NOTEBOOKS}/keep.ipynb") == "{}"
    assert not port_owner.listening_inodes(DEFAULT_PORT)
