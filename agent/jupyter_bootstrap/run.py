"""The one way the agent runs other programs: every command and its output go to the log
file as they come; the user sees output only when something fails."""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Optional

from jupyter_bootstrap.console import duration
from jupyter_bootstrap.errors import StepFailed, UserError
from jupyter_bootstrap.files import Owner, ensure_dir

log = logging.getLogger("jupyter_bootstrap")

TAIL_LINES = 20


def setup_log(path: Path, owner: Optional[Owner] = None) -> Optional[Path]:
    """Append to the log file (0600: it may name paths and users), owned like every other
    file of the user's (root acting for them must not leave root-owned dirs in their home).
    Returns None when it cannot be opened, so a read-only home never stops the agent."""
    try:
        ensure_dir(path.parent, 0o700, owner)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            if owner is not None and os.geteuid() == 0:
                os.fchown(fd, owner.uid, owner.gid)
        finally:
            os.close(fd)
    except (OSError, UserError):
        return None
    for handler in list(log.handlers):
        if isinstance(handler, logging.FileHandler):
            log.removeHandler(handler)
            handler.close()
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    log.propagate = False
    return path


def log_path() -> Optional[Path]:
    for handler in log.handlers:
        if isinstance(handler, logging.FileHandler):
            return Path(handler.baseFilename)
    return None


def tail(text: str, lines: int = TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    input_text: Optional[str] = None,
    timeout: Optional[float] = 600,
    env: Optional[Mapping[str, str]] = None,
    cwd: Optional[Path] = None,
    what: Optional[str] = None,
    hint: Optional[str] = None,
) -> subprocess.CompletedProcess[str]:
    """Run `argv` (never through a shell) and raise StepFailed with the tail of its output
    when it fails and `check` is set.

    Its output goes into the log line by line as it comes, not when it ends: a run killed
    half-way through the installer still leaves the installer's story in the log. On a
    terminal a line redrawn every HEARTBEAT_SECONDS says it is still going."""
    command = shlex.join(argv)
    log.info("run: %s", command)
    full_env = None
    if env is not None:
        full_env = dict(os.environ)
        full_env.update(env)
    try:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL if input_text is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            env=full_env,
            cwd=cwd,
        )
    except FileNotFoundError:
        raise StepFailed(f"{argv[0]} not found", hint=hint) from None
    output = _Output()
    threads = [
        threading.Thread(target=output.read, args=(process.stdout, "out"), daemon=True),
        threading.Thread(target=output.read, args=(process.stderr, "err"), daemon=True),
    ]
    if input_text is not None:
        threads.append(
            threading.Thread(target=_feed, args=(process.stdin, input_text), daemon=True)
        )
    for thread in threads:
        thread.start()
    heartbeat = _Heartbeat(what or Path(argv[0]).name)
    try:
        returncode = _wait(process, timeout, heartbeat)
    except BaseException:
        heartbeat.clear()
        _stop(process)
        _join(threads, READ_GRACE)
        raise
    heartbeat.clear()
    # After a timeout the installer's own children may still hold the pipes open.
    _join(threads, READ_GRACE if returncode is None else None)
    if returncode is None:
        log.info("timeout after %.0f s: %s", timeout or 0, command)
        raise StepFailed(
            f"{what or command} did not finish in {timeout or 0:.0f} s",
            hint=hint,
            details=output.tail() or None,
        )
    log.info("exit %s: %s", returncode, command)
    if check and returncode != 0:
        raise StepFailed(
            f"{what or command} failed (exit {returncode})",
            hint=hint,
            details=output.tail(),
        )
    return subprocess.CompletedProcess(
        list(argv), returncode, "".join(output.out), "".join(output.err)
    )


# How often a silent subprocess's "still running" line is redrawn on a terminal.
HEARTBEAT_SECONDS = 10.0
# After a kill (Ctrl-C, a timeout), how long to wait for the output pipes to close: a
# grandchild may hold them open.
READ_GRACE = 5.0
# A heartbeat line is cut here: console.py's width, one column short of it.
HEARTBEAT_WIDTH = 99


class _Output:
    """Both streams, each kept whole (callers parse stdout), each line logged as it comes."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.err: list[str] = []

    def read(self, stream: Optional[IO[str]], name: str) -> None:
        if stream is None:
            return
        kept = self.out if name == "out" else self.err
        with stream:
            for line in stream:
                kept.append(line)
                log.info("%s| %s", name, line.rstrip("\n"))

    def tail(self) -> str:
        """The last lines shown under the error: stderr after stdout, where a failing
        program's last word (its error) usually is. Read once both streams are closed."""
        return tail("".join(self.out) + "".join(self.err))


def _feed(stream: Optional[IO[str]], text: str) -> None:
    if stream is None:
        return
    try:
        with stream:
            stream.write(text)
    except (BrokenPipeError, OSError):
        pass  # the program exited without reading it all: its exit code tells the rest


def _wait(
    process: subprocess.Popen[str], timeout: Optional[float], heartbeat: _Heartbeat
) -> Optional[int]:
    """The exit code, or None when `timeout` passed (the process is then killed)."""
    started = time.monotonic()
    while True:
        elapsed = time.monotonic() - started
        if timeout is not None and elapsed >= timeout:
            _stop(process, grace=0)
            return None
        wait = HEARTBEAT_SECONDS
        if timeout is not None:
            wait = min(wait, timeout - elapsed)
        try:
            return process.wait(timeout=max(0.0, wait))
        except subprocess.TimeoutExpired:
            heartbeat.show(time.monotonic() - started)


def _stop(process: subprocess.Popen[str], grace: float = 0.25) -> None:
    """Ctrl-C reached the child too (same process group): give it a moment to exit by
    itself, then kill it, so no installer keeps running behind an "interrupted"."""
    if process.poll() is not None:
        return
    try:
        process.wait(timeout=grace)
        return
    except subprocess.TimeoutExpired:
        pass
    process.kill()
    process.wait()


def _join(threads: Sequence[threading.Thread], timeout: Optional[float]) -> None:
    for thread in threads:
        thread.join(timeout)


class _Heartbeat:
    """`  still running the installer X.sh (3m 10s)...`, redrawn in place on a terminal and
    wiped when the program ends; nothing on the console in a pipe or journald."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._shown = 0

    def show(self, elapsed: float) -> None:
        # In the log too, whatever the output is: someone following it with `tail -f` sees
        # the run is alive through a long silent installer.
        log.info("still running %s (%s)", self._what, duration(elapsed))
        stream = sys.stdout
        try:
            if not stream.isatty():
                return
            line = f"  still running {self._what} ({duration(elapsed)})..."
            if len(line) > HEARTBEAT_WIDTH:
                keep = HEARTBEAT_WIDTH - len(f"  still running  ({duration(elapsed)})...") - 3
                line = f"  still running {self._what[:keep]}... ({duration(elapsed)})..."
            stream.write("\r" + line.ljust(self._shown))
            stream.flush()
            self._shown = len(line)
        except (OSError, ValueError):
            self._shown = 0  # the terminal went away: the run goes on without it

    def clear(self) -> None:
        if not self._shown:
            return
        try:
            sys.stdout.write("\r" + " " * self._shown + "\r")
            sys.stdout.flush()
        except (OSError, ValueError):
            pass
        self._shown = 0


def sudo_argv(argv: Sequence[str]) -> list[str]:
    """Prefix with `sudo -n` unless we are already root. -n: never hang on a hidden prompt."""
    if os.geteuid() == 0:
        return list(argv)
    return ["sudo", "-n", *argv]
