"""A dropped PuTTY session must not stop `init` half-way, and two runs must not race.

Every test runs the agent as a real process against the loopback fake installer. The
installer is held at a gate (a file it waits for) so that a signal lands while it runs,
and the download is held by a server that goes silent mid-file; the test then hangs the
session up (SIGHUP to the process and its process group, and on a pty the terminal itself
goes away) and lets the run go on.

The tests run as root in CI, where the agent refuses to act for root without --user, and
a throw-away login user could not run the test environment's Python (under /root). The
agent is therefore started through tests/support/pinned_cli.py, which pins the account to
the current uid and $HOME exactly as the `home` fixture does in-process; everything else is
the real CLI.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import shlex
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

import pytest

from tests.support import pinned_cli
from tests.support.cli import PASSWORD, flat
from tests.support.fake_installer import FakeInstaller, sha256
from tests.support.installer_server import Behaviour
from tests.support.report import step_states

if TYPE_CHECKING:
    from tests.support.fake_installer import InstallerSite

pytestmark = pytest.mark.integration


# A safety net against a hung test, never a measure of speed.
PATIENCE = 180.0
MiB = 1024 * 1024


@dataclass
class Gate:
    """Holds the fake installer just after it printed its first lines."""

    reached: Path
    opened: Path

    def wait_reached(self, process: Callable[[], Optional[int]]) -> None:
        wait_for(lambda: self.reached.exists(), process, "the installer to reach the gate")

    def open(self) -> None:
        self.opened.touch()


@dataclass
class Setup:
    home: Path
    prefix: Path
    env: dict[str, str]
    args: list[str]
    gate: Gate
    installer: str  # the file name, as the download's .part is named after it
    started: list[subprocess.Popen[str]] = field(default_factory=list)

    @property
    def log(self) -> Path:
        return self.home / ".local" / "state" / "jupyter-bootstrap" / "jupyter-bootstrap.log"

    @property
    def part(self) -> Path:
        return self.home / ".cache" / "jupyter-bootstrap" / "downloads" / (self.installer + ".part")

    def argv(self, *args: str) -> list[str]:
        return pinned_cli.argv(*args)

    def init_argv(self) -> list[str]:
        return self.argv("init", *self.args, "--password-stdin")

    def agent(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args),
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=pinned_cli.REPO,
            timeout=PATIENCE,
        )

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""


def wait_for(
    condition: Callable[[], bool], process: Callable[[], Optional[int]], what: str
) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        code = process()
        assert code is None, f"the agent exited ({code}) while the test waited for {what}"
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


def gated_installer(gate: Gate) -> bytes:
    """The fake Miniforge installer, waiting at the gate after its first lines of output."""
    data = FakeInstaller(distribution="miniforge", payload_size=8 * MiB).build()
    marker = b'echo "Unpacking payload ..."\n'
    assert marker in data
    hold = (
        f": > {shlex.quote(str(gate.reached))}\n"
        f"while [ ! -e {shlex.quote(str(gate.opened))} ]; do sleep 0.05; done\n"
    ).encode()
    return data.replace(marker, marker + hold, 1)


@pytest.fixture
def setup(site: InstallerSite, home: Path, tmp_path: Path) -> Iterator[Setup]:
    gate = Gate(tmp_path / "gate-reached", tmp_path / "gate-open")
    name = "Miniforge3-session-Linux-x86_64.sh"
    data = gated_installer(gate)
    url = site.server.add(f"/dl/{name}", data)
    prefix = site.prefix("miniforge3")
    env = {
        **os.environ,
        "HOME": str(home),
        "NO_COLOR": "1",
    }
    args = [
        "--no-service",
        "--force-os",
        "--prefix",
        str(prefix),
        "--installer-url",
        url,
        "--installer-sha256",
        sha256(data),
    ]
    made = Setup(home, prefix, env, args, gate, name)
    yield made
    gate.open()
    for process in made.started:
        if process.poll() is None:
            process.kill()
            process.communicate()


def stall_download(setup: Setup, site: InstallerSite) -> None:
    """The server goes silent half-way through the installer for a few seconds."""
    site.server.set_behaviour(
        f"/dl/{setup.installer}", Behaviour(stall_after=4 * MiB, stall_seconds=3.0)
    )


def assert_converged(setup: Setup) -> None:
    status = setup.agent("status")
    assert status.returncode == 0, status.stdout + status.stderr
    states = set(step_states(status.stdout).values())
    assert states <= {"ok", "skipped"}, status.stdout


def hang_up(pid: int) -> None:
    """What a dropped SSH session does: SIGHUP to the process and its process group."""
    os.kill(pid, signal.SIGHUP)
    os.killpg(os.getpgid(pid), signal.SIGHUP)


# -- on a real terminal that goes away ----------------------------------------------------


class Terminal:
    """The agent on a pty as its controlling terminal (like sshd gives a login shell); the
    test holds the master side and drains it."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
        self.process = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=pinned_cli.REPO,
            start_new_session=True,
            # Its own session with the pty as its controlling terminal, as sshd does it.
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )
        os.close(slave)
        self.master: Optional[int] = master
        self._output = bytearray()
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            fd = self.master
            if fd is None:
                return
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO once the agent has no terminal, or the master closed
                return
            if not chunk:
                return
            with self._lock:
                self._output += chunk

    @property
    def output(self) -> str:
        with self._lock:
            return self._output.decode("utf-8", "replace")

    def type(self, text: str) -> None:
        assert self.master is not None
        os.write(self.master, text.encode())

    def close(self) -> None:
        """The terminal goes away: the kernel hangs the session up."""
        fd, self.master = self.master, None
        if fd is not None:
            os.close(fd)

    def wait(self) -> int:
        return self.process.wait(timeout=PATIENCE)


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    made: list[Terminal] = []
    yield made
    for terminal in made:
        terminal.close()
        if terminal.process.poll() is None:
            terminal.process.kill()
            terminal.process.wait()


@pytest.mark.parametrize("phase", ["download", "installer"])
def test_a_dropped_session_does_not_stop_init(
    phase: str, setup: Setup, site: InstallerSite, terminals: list[Terminal]
) -> None:
    if phase == "download":
        stall_download(setup, site)
        setup.gate.open()
    terminal = Terminal(setup.init_argv(), setup.env)
    terminals.append(terminal)
    terminal.type(PASSWORD + "\n")
    process = terminal.process.poll
    if phase == "download":
        wait_for(lambda: setup.part.exists() and setup.part.stat().st_size > 0, process, "data")
    else:
        setup.gate.wait_reached(process)
    started = terminal.output

    hang_up(terminal.process.pid)
    terminal.close()
    setup.gate.open()

    assert terminal.wait() == 0, setup.log_text()
    # Said at the start: how to follow the run from another session.
    follow = "Follow it from another session: tail -f ~/.local/state/jupyter-bootstrap/"
    assert follow in started
    log = setup.log_text()
    # Output after the hang-up went to the log, and the run got to the end.
    assert "the terminal went away" in log
    assert "console: Jupyter is set up." in log
    assert "out| installation finished." in log
    assert_converged(setup)


def test_the_installer_output_is_in_the_log_while_it_runs_and_a_heartbeat_on_a_terminal(
    setup: Setup, terminals: list[Terminal]
) -> None:
    setup.env["JUPYTER_BOOTSTRAP_TEST_HEARTBEAT"] = "0.1"
    terminal = Terminal(setup.init_argv(), setup.env)
    terminals.append(terminal)
    terminal.type(PASSWORD + "\n")
    setup.gate.wait_reached(terminal.process.poll)
    # Streamed: the installer has not finished, its first lines are in the log already.
    wait_for(lambda: "out| Unpacking payload ..." in setup.log_text(), terminal.process.poll,
             "the installer's output in the log")  # fmt: skip
    wait_for(lambda: "still running the installer" in terminal.output, terminal.process.poll,
             "a heartbeat on the terminal")  # fmt: skip
    setup.gate.open()
    assert terminal.wait() == 0, terminal.output

    frames = [f for f in terminal.output.replace("\r", "\n").split("\n") if "still running" in f]
    assert frames
    for frame in frames:
        assert frame.isascii() and len(frame) < 100, frame
    installer = f"  still running the installer {setup.installer} ("
    assert any(frame.startswith(installer) for frame in frames), frames
    # The summary says how to follow a run, on one line.
    log_line = [line for line in terminal.output.splitlines() if line.startswith("  Log:")]
    assert len(log_line) == 1 and "tail -f ~/.local/state/jupyter-bootstrap/" in log_line[0]


# -- with pipes (cloud-init, nohup, a script) ---------------------------------------------


def start_piped(setup: Setup) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        setup.init_argv(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=setup.env,
        cwd=pinned_cli.REPO,
        start_new_session=True,
    )
    setup.started.append(process)
    assert process.stdin is not None
    process.stdin.write(PASSWORD + "\n")
    process.stdin.flush()
    return process


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=PATIENCE)
    return process.returncode, out, err


def test_sighup_in_a_pipe_changes_nothing_and_no_heartbeat_is_printed(setup: Setup) -> None:
    setup.env["JUPYTER_BOOTSTRAP_TEST_HEARTBEAT"] = "0.05"
    process = start_piped(setup)
    setup.gate.wait_reached(process.poll)
    hang_up(process.pid)
    # Heartbeats are logged; none reaches a pipe.
    wait_for(lambda: setup.log_text().count("still running the installer") >= 2, process.poll,
             "heartbeats in the log")  # fmt: skip
    setup.gate.open()
    code, out, err = finish(process)
    assert code == 0, out + err
    assert "still running" not in out + err
    assert "Jupyter is set up." in out
    # What the console shows is in the log too, for whoever follows it with `tail -f`.
    assert "console: Follow it from another session: tail -f ~/.local/" in setup.log_text()
    assert_converged(setup)


def test_ctrl_c_still_stops_cleanly(setup: Setup) -> None:
    process = start_piped(setup)
    setup.gate.wait_reached(process.poll)
    os.killpg(process.pid, signal.SIGINT)  # as the terminal sends it: to the whole group
    code, out, err = finish(process)
    assert code == 130, out + err
    assert "interrupted: nothing more was changed" in err
    assert not (setup.prefix / "bin" / "conda").exists()


def test_a_second_run_is_refused_while_init_runs(setup: Setup) -> None:
    first = start_piped(setup)
    setup.gate.wait_reached(first.poll)

    second = setup.agent("init", *setup.args, "--password-stdin", stdin=PASSWORD + "\n")
    assert second.returncode == 2, second.stdout + second.stderr
    said = flat(second.stderr)
    assert f"`jupyter-bootstrap init` is already running (PID {first.pid}, started " in said
    assert f"tail -f {setup.log}" in said
    lock = setup.home / ".local" / "state" / "jupyter-bootstrap" / "run.lock"
    assert json.loads(lock.read_text())["pid"] == first.pid  # still the first run's
    # The other converging commands wait their turn too.
    for command in ("password", "restart"):
        other = setup.agent(command, *(["--password-stdin"] if command == "password" else []))
        assert other.returncode == 2, other.stdout + other.stderr
        assert f"(PID {first.pid}, started " in flat(other.stderr)
        assert f"so this {command} changes nothing" in flat(other.stderr)

    setup.gate.open()
    code, out, err = finish(first)
    assert code == 0, out + err
    assert_converged(setup)


def test_a_lock_file_left_by_a_dead_run_does_not_block(setup: Setup) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    state = setup.home / ".local" / "state" / "jupyter-bootstrap"
    state.mkdir(parents=True)
    lock = state / "run.lock"
    lock.write_text(json.dumps({"pid": gone.pid, "command": "init", "started": 0}) + "\n")
    setup.gate.open()
    result = setup.agent("init", *setup.args, "--password-stdin", stdin=PASSWORD + "\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not lock.exists()  # a finished run leaves no lock file
