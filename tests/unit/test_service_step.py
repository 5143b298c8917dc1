"""The service step against stand-in systemctl/sudo (tests/support/fake_systemd.py): what it
writes, which systemctl calls it makes and when it restarts. Real systemd: tests/e2e."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from jupyter_bootstrap import derived, https_probe
from jupyter_bootstrap.service import port_owner, started, systemctl
from jupyter_bootstrap.service import unit as units
from tests.support import fake_proc
from tests.support.cli import flat, init_on_port, invoke
from tests.support.fake_systemd import UNIT, FakeSystemd
from tests.support.metadata_server import metadata_service
from tests.support.report import step_states
from tests.support.require import skip_or_fail
from tests.support.stock_instance import STOCK_UNIT_VALUES
from tests.support.tree import snapshot

REPO = Path(__file__).resolve().parents[2]


def test_first_run_installs_enables_and_starts(
    fake: FakeSystemd, home: Path, jupyter_prefix: Path, port: int
) -> None:
    output = init_on_port(jupyter_prefix, port)
    assert step_states(output)["service"] == "changed"
    assert step_states(output)["health"] == "ok"
    unit = fake.unit_dir / UNIT
    assert unit.stat().st_mode & 0o777 == 0o644
    text = unit.read_text()
    assert text.startswith("# Managed by jupyter-bootstrap.")
    assert f'ExecStart="{jupyter_prefix}/bin/jupyter" "notebook" "--config=' in text
    assert not list(fake.unit_dir.glob(".*"))  # no temporary file left behind
    # Enabling reloads the daemon by itself, so the new unit needs no daemon-reload of ours.
    assert fake.changes() == [["enable", "--quiet", UNIT], ["start", UNIT]]
    assert fake.unit()["enabled"] and fake.unit()["active"]
    record = json.loads((home / ".local/state/jupyter-bootstrap/state.json").read_text())
    assert set(record["services"]) == {UNIT}
    assert (home / ".local/state/jupyter-bootstrap/state.json").stat().st_mode & 0o777 == 0o600


def test_second_run_touches_nothing(fake: FakeSystemd, jupyter_prefix: Path, port: int) -> None:
    init_on_port(jupyter_prefix, port)
    unit = fake.unit_dir / UNIT
    before = (unit.read_bytes(), unit.stat().st_mtime_ns, fake.unit()["pid"])
    fake.clear_calls()
    output = init_on_port(jupyter_prefix, port)
    assert set(step_states(output).values()) == {"ok"}, output
    assert "running for" in flat(output) and f"pid {before[2]}" in flat(output)
    assert fake.changes() == []
    assert (unit.read_bytes(), unit.stat().st_mtime_ns, fake.unit()["pid"]) == before


def test_a_new_certificate_restarts_nothing(
    fake: FakeSystemd, home: Path, jupyter_prefix: Path, port: int
) -> None:
    """The server reads its certificate file for every new connection: kernels live on."""
    init_on_port(jupyter_prefix, port)
    (home / "certs" / "mycert.pem").unlink()
    fake.clear_calls()
    output = init_on_port(jupyter_prefix, port)
    assert step_states(output)["certificate"] == "changed"
    assert step_states(output)["service"] == "ok"
    assert fake.changes() == []


def test_new_names_for_the_certificate_restart_nothing(
    fake: FakeSystemd, home: Path, jupyter_prefix: Path, port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stop/start that gave a new public address, then a name the user added: each is a
    new certificate, served to the next connection with the same server and its kernels."""
    with metadata_service(public_ipv4="203.0.113.7", public_hostname="") as imds:
        imds.items["ipv6"] = "2600:1f18:abcd::7"  # an instance with an IPv6 address too
        monkeypatch.setenv("JUPYTER_BOOTSTRAP_METADATA_URL", imds.url)
        init_on_port(jupyter_prefix, port)
        pid = fake.unit()["pid"]
        imds.items["public-ipv4"] = "198.51.100.9"
        fake.clear_calls()
        output = init_on_port(jupyter_prefix, port)
        assert "does not cover 198.51.100.9" in flat(output)
        assert step_states(output)["certificate"] == "changed"
        output = init_on_port(jupyter_prefix, port, "--hostname", "lab.example.org")
        assert "does not cover lab.example.org" in flat(output)
        assert step_states(output)["certificate"] == "changed"
    assert fake.changes() == [] and fake.unit()["pid"] == pid
    served = x509.load_pem_x509_certificate((home / "certs" / "mycert.pem").read_bytes())
    names = served.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "lab.example.org" in names.get_values_for_type(x509.DNSName)
    addresses = {str(ip) for ip in names.get_values_for_type(x509.IPAddress)}
    assert {"198.51.100.9", "2600:1f18:abcd::7"} <= addresses


def test_a_change_made_by_an_earlier_failed_run_still_restarts(
    fake: FakeSystemd, home: Path, jupyter_prefix: Path, port: int
) -> None:
    """A run that rewrote the config and died before restarting: the fingerprint in
    state.json (not this run's restart requests) tells the next run."""
    init_on_port(jupyter_prefix, port)
    config = home / ".jupyter" / "jupyter_server_config.py"
    config.write_bytes(config.read_bytes() + b"\n")  # as if rewritten, server not told
    status = invoke("status")
    assert status.exit_code == 3
    assert "needs a restart" in flat(status.output)
    fake.clear_calls()
    output = init_on_port(jupyter_prefix, port)
    assert "changed since the server started" in flat(output)
    assert fake.changes() == [["restart", UNIT]]


def test_a_lost_state_file_restarts_once(
    fake: FakeSystemd, home: Path, jupyter_prefix: Path, port: int
) -> None:
    init_on_port(jupyter_prefix, port)
    (home / ".local/state/jupyter-bootstrap/state.json").unlink()
    fake.clear_calls()
    assert "no record of what the running server" in flat(init_on_port(jupyter_prefix, port))
    assert fake.changes() == [["restart", UNIT]]
    fake.clear_calls()
    init_on_port(jupyter_prefix, port)
    assert fake.changes() == []


def test_another_app_rewrites_the_unit_reloads_and_restarts(
    fake: FakeSystemd, jupyter_prefix: Path, port: int
) -> None:
    init_on_port(jupyter_prefix, port)
    fake.clear_calls()
    output = init_on_port(jupyter_prefix, port, "--app", "lab")
    assert '"lab"' in (fake.unit_dir / UNIT).read_text()
    assert "updated" in flat(output)
    assert fake.changes() == [["daemon-reload"], ["restart", UNIT]]


def test_stopped_and_disabled_is_drift_and_repaired(
    fake: FakeSystemd, jupyter_prefix: Path, port: int
) -> None:
    init_on_port(jupyter_prefix, port)
    fake.set_unit(enabled=False, active=False)
    status = invoke("status")
    assert status.exit_code == 3, status.output
    assert "jupyter.service is not enabled (disabled)" in flat(status.output)
    assert "jupyter.service is not running (inactive (dead))" in flat(status.output)
    fake.clear_calls()
    init_on_port(jupyter_prefix, port)
    assert fake.changes() == [["enable", "--quiet", UNIT], ["start", UNIT]]


def test_a_crash_looping_service_is_restarted(
    fake: FakeSystemd, jupyter_prefix: Path, port: int
) -> None:
    init_on_port(jupyter_prefix, port)
    fake.set_unit(state="activating", sub="auto-restart")
    fake.clear_calls()
    output = init_on_port(jupyter_prefix, port)
    assert "restarted it (it was activating (auto-restart))" in flat(output)
    assert fake.changes() == [["restart", UNIT]]


def test_a_unit_that_is_not_ours_is_never_overwritten(
    fake: FakeSystemd, home: Path, jupyter_prefix: Path, port: int
) -> None:
    foreign = fake.unit_dir / UNIT
    foreign.write_text("[Service]\nExecStart=/usr/bin/something-else\n")
    output = init_on_port(jupyter_prefix, port, code=2)
    assert "was not written by jupyter-bootstrap" in flat(output)
    assert "--service-name" in flat(output)
    assert foreign.read_text() == "[Service]\nExecStart=/usr/bin/something-else\n"
    assert fake.changes() == []
    assert not (home / ".config" / "jupyter-bootstrap" / "settings.json").exists()


def test_another_login_users_unit_is_not_taken_over_silently(
    fake: FakeSystemd, home: Path, jupyter_prefix: Path, port: int
) -> None:
    with derived.recall_only():  # the test's own rendering leaves nothing in the home
        theirs = units.render(STOCK_UNIT_VALUES._replace(user="alice", group="alice"))
    (fake.unit_dir / UNIT).write_text(theirs)
    output = init_on_port(jupyter_prefix, port, code=2)
    assert "runs Jupyter for alice" in flat(output)
    assert "--service-name jupyter-" in flat(output) and "--force" in flat(output)
    assert (fake.unit_dir / UNIT).read_text() == theirs
    assert fake.changes() == []
    assert snapshot(home) == {}

    status = invoke("status")
    assert status.exit_code == 3, status.output  # drift to report, not bad input
    assert "runs Jupyter for alice" in flat(status.output)
    assert invoke("uninstall", "--yes").exit_code == 0  # not ours to remove: left alone
    assert (fake.unit_dir / UNIT).read_text() == theirs
    assert fake.changes() == []

    init_on_port(jupyter_prefix, port, "--force")
    me = pwd.getpwuid(os.getuid()).pw_name
    assert units.user_of((fake.unit_dir / UNIT).read_text()) == me
    assert fake.unit()["active"]


def test_a_port_below_1024_is_granted_to_jupyter_alone(
    fake: FakeSystemd, jupyter_prefix: Path
) -> None:
    low = next(p for p in range(980, 1024) if not port_owner.listening_inodes(p))
    init_on_port(jupyter_prefix, low)
    unit = (fake.unit_dir / UNIT).read_text()
    assert "AmbientCapabilities=CAP_NET_BIND_SERVICE" in unit
    assert "AmbientCapabilities" not in (REPO / "systemd" / "jupyter.service.example").read_text()


def test_a_unit_of_that_name_elsewhere_is_not_hidden(
    fake: FakeSystemd, jupyter_prefix: Path, port: int
) -> None:
    fake.set_unit(loaded=True, fragment="/lib/systemd/system/jupyter.service")
    output = init_on_port(jupyter_prefix, port, code=2)
    assert "/lib/systemd/system/jupyter.service exists" in flat(output)
    assert not (fake.unit_dir / UNIT).exists()


def test_service_name_chooses_the_unit(fake: FakeSystemd, jupyter_prefix: Path, port: int) -> None:
    init_on_port(jupyter_prefix, port, "--service-name", "jupyter-https")
    assert (fake.unit_dir / "jupyter-https.service").exists()
    assert ["start", "jupyter-https.service"] in fake.changes("jupyter-https.service")
    # Its renewal units are named after it, so two setups never share them.
    assert (fake.unit_dir / "jupyter-https-certificate.timer").exists()


@pytest.fixture
def listener(port: int) -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        yield sock


def test_a_busy_port_is_refused_before_anything_changes(
    fake: FakeSystemd, home: Path, jupyter_prefix: Path, port: int, listener: socket.socket
) -> None:
    output = init_on_port(jupyter_prefix, port, code=2)
    assert f"port {port} is already in use by process" in flat(output)
    assert "nothing was changed" in flat(output)
    assert "python" in flat(output)  # this test process holds it
    assert "--port" in flat(output)
    assert fake.changes() == []
    assert snapshot(home) == {}  # no settings naming the busy port, no config


def test_a_no_op_init_does_not_look_for_who_holds_the_port(
    fake: FakeSystemd, jupyter_prefix: Path, port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing is started, so our service holds the port: every process's sockets are not
    scanned for a holder that cannot be there."""
    init_on_port(jupyter_prefix, port)

    def no_scan(port: int) -> list[port_owner.PortHolder]:
        raise AssertionError("looked for the port's holders")

    monkeypatch.setattr(port_owner, "holders", no_scan)
    output = init_on_port(jupyter_prefix, port)
    assert set(step_states(output).values()) == {"ok"}, output


def _not_answering(fake: FakeSystemd, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        https_probe, "probe", lambda target: https_probe.ProbeResult(False, "refused", "refused")
    )


def _restarted_by_systemd(fake: FakeSystemd, monkeypatch: pytest.MonkeyPatch) -> None:
    fake.set_unit(UNIT, restarts=3)


@pytest.mark.parametrize(
    "looks_fine_but",
    [
        # Nothing answers: our Jupyter restarting in a loop because another program took
        # the port, say. The preflight looks for the port's holder.
        pytest.param(_not_answering, id="does-not-answer"),
        # Answering, but restarted by systemd on its own: a Jupyter started by hand with
        # our config may hold the port and answer the health check. The check looks.
        pytest.param(_restarted_by_systemd, id="restarted-by-systemd"),
    ],
)
def test_a_unit_that_looks_fine_but_may_not_be_gets_its_port_looked_at(
    fake: FakeSystemd,
    jupyter_prefix: Path,
    port: int,
    monkeypatch: pytest.MonkeyPatch,
    looks_fine_but: Callable[[FakeSystemd, pytest.MonkeyPatch], None],
) -> None:
    init_on_port(jupyter_prefix, port)
    looks_fine_but(fake, monkeypatch)
    stranger = port_owner.PortHolder(None, "", "", uid=os.getuid() + 1)
    monkeypatch.setattr(port_owner, "holders", lambda port: [stranger])
    output = init_on_port(jupyter_prefix, port, code=2)
    assert f"port {port} is already in use" in flat(output)
    assert "nothing was changed" in flat(output)


def proc_with_listeners(
    root: Path, port: int, hidden: tuple[int, ...] = (), ours: bool = False
) -> Path:
    """A /proc where `port` has a listening socket for each uid of `hidden` whose process
    may not be looked into, and with `ours`, one held by the unit's server (pid 4242)."""
    shutil.rmtree(root, ignore_errors=True)
    sockets = [(100 + n, uid) for n, uid in enumerate(hidden)]
    if ours:
        sockets.append((99, os.getuid()))
        fake_proc.holding(root, 4242, 99, ["jupyter-server"], f"/system.slice/{UNIT}")
    return fake_proc.listening(root, port, sockets)


def test_status_tells_a_unit_that_cannot_bind_from_one_systemd_brought_back(
    fake: FakeSystemd,
    jupyter_prefix: Path,
    port: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Restarted by systemd on its own, the unit may be looping because another program
    holds its port: in between it looks running. The port's holders tell: none, or the
    unit's own server, is a crash it recovered from; another program alone is drift."""
    init_on_port(jupyter_prefix, port)
    fake.set_unit(UNIT, restarts=1)
    assert invoke("status").exit_code == 0  # brought back after a crash, nothing else there
    proc = tmp_path / "proc"
    real_holders = port_owner.holders
    monkeypatch.setattr(port_owner, "holders", lambda port: real_holders(port, proc))
    stranger = 4_000_000  # another user's program: a uid with no account here
    # Sharing the port, each on its own address: the unit's server seen in its cgroup, or
    # (with CAP_NET_BIND_SERVICE, below port 1024) a socket of this user whose process the
    # user may not look into. Another user's program beside it is no proof of a loop.
    me = os.getuid()
    for hidden, ours in (((stranger,), True), ((me, stranger), False), ((me,), False)):
        proc_with_listeners(proc, port, hidden, ours)
        assert invoke("status").exit_code == 0, (hidden, ours)
    proc_with_listeners(proc, port, (stranger,))
    status = invoke("status")
    assert status.exit_code == 3
    assert (
        f"{UNIT} keeps restarting: Jupyter cannot start while port {port} is already in use "
        f"by a process of uid {stranger} (`sudo ss -ltnp` names it)"
    ) in flat(status.output)
    fake.set_unit(UNIT, restarts=0)  # never restarted: its port is not looked at
    assert invoke("status").exit_code == 0


def test_replace_running_takes_the_port_back_from_under_a_unit_that_looks_running(
    fake: FakeSystemd, jupyter_prefix: Path, port: int, tmp_path: Path
) -> None:
    """Between two of systemd's restarts the unit looks running: the Jupyter started by
    hand that holds its port is stopped all the same, and the unit restarted."""
    init_on_port(jupyter_prefix, port)
    with started_by_hand(tmp_path, port) as by_hand:
        fake.set_unit(UNIT, restarts=2)
        fake.clear_calls()
        refused = flat(init_on_port(jupyter_prefix, port, code=2))
        assert f"port {port} is already in use by process {by_hand.pid}" in refused
        assert fake.changes() == []
        replaced = flat(init_on_port(jupyter_prefix, port, "--replace-running"))
        assert f"stopped the Jupyter started by hand (pid {by_hand.pid})" in replaced
        assert "restarted it (its port was in use" in replaced
        assert by_hand.wait(timeout=10) == -signal.SIGTERM
    assert fake.changes() == [["restart", UNIT]]
    assert fake.unit()["restarts"] == 0


def test_replace_running_leaves_a_unit_that_serves_beside_a_jupyter_started_by_hand(
    fake: FakeSystemd,
    jupyter_prefix: Path,
    port: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two sockets on one port, on different addresses: the unit's server listens, so it
    is serving, and its kernels are not lost to a restart."""
    init_on_port(jupyter_prefix, port)
    with started_by_hand(tmp_path, port) as by_hand:
        ours = port_owner.PortHolder(4242, "jupyter-server", f"/system.slice/{UNIT}")
        theirs = port_owner.PortHolder(by_hand.pid, "jupyter-notebook", "/user.slice")
        monkeypatch.setattr(port_owner, "holders", lambda port: [ours, theirs])
        fake.clear_calls()
        output = init_on_port(jupyter_prefix, port, "--replace-running")
        assert step_states(output)["service"] == "ok", output
        assert "stopped" not in flat(output)
        assert by_hand.poll() is None
    assert fake.changes() == []


LISTENER = """
import socket, sys, time
server = socket.socket()
server.bind(("127.0.0.1", int(sys.argv[1])))
server.listen()
print("listening", flush=True)
time.sleep(600)
"""


@contextlib.contextmanager
def started_by_hand(tmp_path: Path, port: int) -> Iterator[subprocess.Popen[str]]:
    """What the old tutorial leaves running: `nohup jupyter notebook &`, as this user."""
    script = tmp_path / "legacy-bin" / "jupyter-notebook"
    script.parent.mkdir()
    script.write_text(LISTENER)
    started = subprocess.Popen(
        [sys.executable, str(script), str(port)], stdout=subprocess.PIPE, text=True
    )
    assert started.stdout is not None and started.stdout.readline() == "listening\n"
    try:
        yield started
    finally:
        started.kill()
        started.wait()


@pytest.fixture
def hand_started_jupyter(tmp_path: Path, port: int) -> Iterator[subprocess.Popen[str]]:
    with started_by_hand(tmp_path, port) as started:
        yield started


def test_a_jupyter_started_by_hand_is_named_and_replaced_only_when_asked(
    fake: FakeSystemd, home: Path, jupyter_prefix: Path, port: int, hand_started_jupyter: Any
) -> None:
    refused = flat(init_on_port(jupyter_prefix, port, code=2))
    assert f"port {port} is already in use by process {hand_started_jupyter.pid}" in refused
    assert "jupyter-notebook" in refused and "--replace-running" in refused
    assert fake.changes() == [] and snapshot(home) == {}
    assert hand_started_jupyter.poll() is None

    replaced = flat(init_on_port(jupyter_prefix, port, "--replace-running"))
    assert f"stopped the Jupyter started by hand (pid {hand_started_jupyter.pid})" in replaced
    assert hand_started_jupyter.wait(timeout=10) == -signal.SIGTERM
    assert fake.unit()["active"]


def test_a_service_that_dies_at_once_shows_its_journal(
    fake: FakeSystemd, monkeypatch: pytest.MonkeyPatch, jupyter_prefix: Path, port: int
) -> None:
    real_start = systemctl.start

    def start_and_crash(unit: str) -> None:
        real_start(unit)
        fake.set_unit(unit, state="activating", sub="auto-restart")

    monkeypatch.setattr(systemctl, "start", start_and_crash)
    output = init_on_port(jupyter_prefix, port, code=1)
    assert "did not stay up (activating (auto-restart))" in flat(output)
    assert "| Nov 26 12:00:01 host jupyter[42]: OSError: [Errno 98]" in flat(output)


def test_no_service_never_calls_systemctl(
    fake: FakeSystemd, jupyter_prefix: Path, port: int
) -> None:
    output = init_on_port(jupyter_prefix, port, "--no-service")
    assert "not managed (--no-service)" in flat(output)
    assert "--config=" in flat(output)  # the command to start it by hand
    assert fake.calls() == []
    assert not (fake.unit_dir / UNIT).exists()


def test_skip_leaves_the_systemd_steps_out(
    fake: FakeSystemd, jupyter_prefix: Path, port: int
) -> None:
    skipped = ("service", "kernels", "autostop", "renewal", "health")
    flags = [flag for step in skipped for flag in ("--skip", step)]
    output = init_on_port(jupyter_prefix, port, *flags)
    for step in skipped:
        assert step_states(output)[step] == "skipped"
    assert fake.calls() == []


def test_without_systemd_one_line_and_the_command_to_run(
    home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, jupyter_prefix: Path, port: int
) -> None:
    """This host has no systemd as PID 1: the real detection, nothing faked but the marker
    path (so the test also holds on a systemd machine)."""
    monkeypatch.setattr(systemctl, "BOOTED_MARKER", tmp_path / "no-such-dir")
    output = init_on_port(jupyter_prefix, port, code=2)
    assert "error: service: systemd is not running on this machine" in flat(output)
    assert "jupyter-bootstrap init --no-service" in flat(output)
    config = home / ".jupyter" / "jupyter_server_config.py"
    assert f"{jupyter_prefix}/bin/jupyter notebook \\" in output
    # (the test's long temporary home makes the console wrap the --config= line)
    next_line = output.split("bin/jupyter notebook \\\n")[1].splitlines()[0]
    assert next_line.strip().startswith("--config=")
    # Refused before anything was written (the check runs before any step applies).
    assert not (home / ".config" / "jupyter-bootstrap").exists()
    assert not config.exists()


def test_dry_run_reports_what_it_would_do(
    fake: FakeSystemd, jupyter_prefix: Path, port: int
) -> None:
    result = invoke("init", "--prefix", str(jupyter_prefix), "--port", str(port), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would install the unit, enable it, start it" in flat(result.output)
    assert fake.changes() == []


def test_fingerprint_covers_unit_and_every_file(tmp_path: Path) -> None:
    files = [tmp_path / name for name in ("cert", "key", "config")]
    for path in files:
        path.write_text(path.name)
    base = started.fingerprint("unit", files)
    assert started.fingerprint("unit", files) == base
    assert started.fingerprint("unit2", files) != base
    for path in files:
        path.write_text("changed")
        assert started.fingerprint("unit", files) != base
        path.write_text(path.name)
    files[1].unlink()
    assert started.fingerprint("unit", files) != base


def test_state_file_keeps_other_keys(tmp_path: Path) -> None:
    state = tmp_path / "state" / "state.json"
    state.parent.mkdir()
    state.write_text(json.dumps({"conda": {"installed": True}}))
    started.record(state, UNIT, "abc")
    assert started.recorded(state, UNIT) == "abc"
    assert json.loads(state.read_text())["conda"] == {"installed": True}
    state.write_text("{not json")
    assert started.recorded(state, UNIT) is None  # damaged: "no record", not a crash


def test_status_without_systemd_is_drift_not_an_error(
    home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(systemctl, "BOOTED_MARKER", tmp_path / "no-such-dir")
    status = invoke("status")
    assert status.exit_code == 3, status.output
    assert "systemd is not running on this machine" in flat(status.output)
    assert "pass --no-service" in flat(status.output)


def test_a_prefix_systemd_cannot_run_is_refused_before_any_change(
    fake: FakeSystemd, home: Path, tmp_path: Path, jupyter_prefix: Path, port: int
) -> None:
    # A venv whose path holds a quote: the test venv's files, seen through links.
    if not (jupyter_prefix / "pyvenv.cfg").exists():
        skip_or_fail("the tests do not run in a venv to borrow files from")
    odd = tmp_path / 'env "quoted"'
    (odd / "bin").mkdir(parents=True)
    (odd / "pyvenv.cfg").write_text((jupyter_prefix / "pyvenv.cfg").read_text())
    (odd / "lib").symlink_to(jupyter_prefix / "lib")
    for name in ("python", "jupyter"):
        (odd / "bin" / name).symlink_to(jupyter_prefix / "bin" / name)
    output = init_on_port(odd, port, code=2)
    assert "cannot go into a systemd unit" in flat(output)
    assert "--no-service" in flat(output)
    assert not (home / ".config" / "jupyter-bootstrap").exists()
    assert fake.changes() == []


def test_no_service_later_warns_about_the_unit_left_running(
    fake: FakeSystemd, jupyter_prefix: Path, port: int
) -> None:
    init_on_port(jupyter_prefix, port)
    fake.clear_calls()
    output = init_on_port(jupyter_prefix, port, "--no-service")
    assert "is still installed; `jupyter-bootstrap uninstall` removes it" in flat(output)
    assert fake.changes() == []
