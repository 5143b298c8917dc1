"""Surviving a dropped SSH session. When PuTTY's connection drops, the terminal hangs up: the
kernel sends SIGHUP to the session, and every later write to the terminal fails with EIO
(EPIPE when the output was a pipe into a program that died with it). A run that is
half-way through a 1 GB download or the conda installer must carry on to the end instead:
stopping there leaves more to repair than finishing does.

`survive()` ignores SIGHUP for the run (children inherit SIG_IGN across exec, so the conda
installer and `conda install` live on too), and guards stdout and stderr: what the console
shows goes into the log too, and the first write that finds the terminal gone points that
terminal's file descriptors at /dev/null, so the rest goes to the log only. Ctrl-C (SIGINT)
is untouched.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Optional, TextIO, cast

log = logging.getLogger("jupyter_bootstrap")

# What a write to a terminal (or pipe) that went away raises.
_GONE = frozenset({errno.EIO, errno.EPIPE, errno.ENXIO, errno.ECONNRESET})
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# A console line kept for the log is cut here: nothing the agent prints is longer, and a
# redrawn progress bar without newlines must not grow a buffer for ever.
_MAX_PENDING = 4096


class _Terminal:
    """The standard streams of this run and which of them went away."""

    def __init__(self) -> None:
        self.devices: dict[int, Optional[tuple[int, int]]] = {}
        for fd in (1, 2):
            self.devices[fd] = _tty_device(fd)
        self.lost: set[int] = set()
        self._lock = threading.Lock()

    def lose(self, fd: int) -> None:
        """Point `fd`, and every other standard stream on the same terminal, at /dev/null:
        buffered output then drains there instead of failing again (also at exit, where a
        failed flush of stdout would turn a finished run's exit code into 120)."""
        with self._lock:
            if fd in self.lost:
                return
            device = self.devices.get(fd)
            same = [f for f, d in self.devices.items() if f == fd or (d and d == device)]
            try:
                null = os.open(os.devnull, os.O_WRONLY)
            except OSError:
                null = -1
            for other in same:
                if null >= 0:
                    with suppress(OSError):
                        os.dup2(null, other)
                self.lost.add(other)
            if null >= 0:
                os.close(null)
        log.warning(
            "the terminal went away (the SSH session dropped?): carrying on; the rest of "
            "the output goes to this log only"
        )

    def probe(self) -> None:
        """Find a hang-up nothing was written through yet: an empty write to a hung-up
        terminal still fails with EIO (to a live one it writes nothing)."""
        for fd, device in self.devices.items():
            if device is None or fd in self.lost:
                continue
            try:
                os.write(fd, b"")
            except OSError as error:
                if error.errno in _GONE:
                    self.lose(fd)


def _tty_device(fd: int) -> Optional[tuple[int, int]]:
    try:
        if not os.isatty(fd):
            return None
        info = os.fstat(fd)
    except OSError:
        return None
    return (info.st_dev, info.st_rdev)


class GuardedStream:
    """A text stream that outlives the terminal under it. Only what click and the progress
    bar use is offered; no `buffer`, so nothing writes past the guard."""

    def __init__(self, stream: TextIO, fd: int, terminal: _Terminal) -> None:
        self._stream = stream
        self._fd = fd
        self._terminal = terminal
        self._pending = ""

    @property
    def gone(self) -> bool:
        return self._fd in self._terminal.lost

    @property
    def encoding(self) -> str:
        return self._stream.encoding

    @property
    def errors(self) -> Optional[str]:
        return self._stream.errors

    @property
    def closed(self) -> bool:
        return self._stream.closed

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._stream.fileno()

    def isatty(self) -> bool:
        if self.gone:
            return False
        try:
            return self._stream.isatty()
        except (OSError, ValueError):
            return False

    def write(self, text: str) -> int:
        if not isinstance(text, str):  # click probes for a binary stream with b""
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        # Into the log as well, gone or not: someone following the run with `tail -f` from
        # another session sees what the terminal shows (never a password: it is read
        # without echo, or echoed by the terminal itself, never written by the agent).
        self._to_log(text)
        if not self.gone:
            try:
                return self._stream.write(text)
            except OSError as error:
                if error.errno not in _GONE:
                    raise
                self._terminal.lose(self._fd)
        return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as error:
            if error.errno not in _GONE:
                raise
            self._terminal.lose(self._fd)
            with suppress(OSError):  # what was buffered drains into /dev/null now
                self._stream.flush()

    def _to_log(self, text: str) -> None:
        """Whole lines into the log, without colour; of a line redrawn in place (`\\r`),
        only its last state."""
        pending = self._pending + text
        *lines, rest = pending.split("\n")
        for line in lines:
            shown = _ANSI.sub("", line.rsplit("\r", 1)[-1]).rstrip()
            if shown.strip():
                log.info("console: %s", shown)
        self._pending = rest.rsplit("\r", 1)[-1][-_MAX_PENDING:]


@contextmanager
def survive() -> Iterator[None]:
    """For the duration: SIGHUP ignored (by children too), stdout and stderr guarded."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals can only be set from the main thread (an embedding, not the CLI)
        return
    terminal = _Terminal()
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    saved = sys.stdout, sys.stderr
    if _has_fd(sys.stdout, 1):
        sys.stdout = cast(TextIO, GuardedStream(sys.stdout, 1, terminal))
    if _has_fd(sys.stderr, 2):
        sys.stderr = cast(TextIO, GuardedStream(sys.stderr, 2, terminal))
    try:
        yield
    finally:
        terminal.probe()
        # After a hang-up the guards stay, and so does SIG_IGN: the error report and the
        # exit come after this, and must not fail on the terminal either.
        if not terminal.lost:
            sys.stdout, sys.stderr = saved
            signal.signal(signal.SIGHUP, previous)


def _has_fd(stream: Optional[TextIO], fd: int) -> bool:
    """Only the real standard streams are guarded: a test runner's capture has no terminal
    to lose."""
    if stream is None:
        return False
    try:
        return stream.fileno() == fd
    except (OSError, ValueError, AttributeError):
        return False
