"""One converging run at a time per user. A second `init` started from another PuTTY window
while the first is still in the installer would download and install into the same prefix
at the same time; it is refused instead, saying which run holds the lock and how to follow
it.

The lock is flock(2) on a file in the agent's state directory: the kernel drops it when the
holder exits however it exits (kill -9 included), so a lock file left behind by a dead run
never blocks. The file holds the holder's PID, command and start time, for the message, and
is removed when the run ends.
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import NamedTuple, Optional

from jupyter_bootstrap.console import duration
from jupyter_bootstrap.errors import UserError
from jupyter_bootstrap.files import Owner, ensure_dir

LOCK_NAME = "run.lock"


class Holder(NamedTuple):
    pid: int
    command: str
    started: float  # time.time()

    def describe(self, now: Optional[float] = None) -> str:
        """`PID 1234, started 14:02:11 UTC, 3m 10s ago`"""
        now = time.time() if now is None else now
        clock = time.strftime("%H:%M:%S UTC", time.gmtime(self.started))
        return f"PID {self.pid}, started {clock}, {duration(now - self.started)} ago"


def lock_path(state_dir: Path) -> Path:
    return state_dir / LOCK_NAME


@contextmanager
def held(
    state_dir: Path, command: str, log_file: Path, owner: Optional[Owner] = None
) -> Iterator[None]:
    """Hold the run lock for the duration, or refuse (exit 2) when another run holds it.
    The lock file exists only while a run holds it: a run leaves nothing behind."""
    ensure_dir(state_dir, 0o700, owner)
    path = lock_path(state_dir)
    fd = _acquire(path, command, log_file, owner)
    try:
        record = {"pid": os.getpid(), "command": command, "started": time.time()}
        os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)
        yield
    finally:
        # Removed while still locked: a run that opened it meanwhile finds, once it gets
        # the lock, that the path no longer leads to what it locked, and starts over.
        with suppress(OSError):
            path.unlink()
        os.close(fd)


def _acquire(path: Path, command: str, log_file: Path, owner: Optional[Owner]) -> int:
    while True:
        # Not inherited by children (O_CLOEXEC): a process left running by the run must
        # not keep the lock after the run has exited.
        # Never through a symlink, never a FIFO or device put in its place: root acting for
        # a user would otherwise chown and overwrite whatever it points at.
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
        try:
            fd = os.open(path, flags, 0o600)
        except OSError as error:
            raise UserError(
                f"cannot open the run lock {path}: {error.strerror}",
                hint=f"remove it (rm {path}) and run again",
            ) from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise UserError(
                    f"the run lock {path} is not a regular file",
                    hint=f"remove it (rm {path}) and run again",
                )
            if owner is not None and os.geteuid() == 0:
                os.fchown(fd, owner.uid, owner.gid)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise _busy(command, _read(fd), log_file) from None
            if _same_file(fd, path):
                os.ftruncate(fd, 0)  # what a dead run left in it names no one
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # locked a file the previous holder had just removed: again


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (on_disk.st_dev, on_disk.st_ino) == (held.st_dev, held.st_ino)


def holder(state_dir: Path) -> Optional[Holder]:
    """Who holds the lock now, as its file says (None: nobody, or not written yet). For a
    run's own helper process, which works under the lock its parent holds."""
    try:
        fd = os.open(lock_path(state_dir), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read(fd)  # held: the file names the holder
        return None  # nobody holds it: whatever the file says is stale
    finally:
        os.close(fd)


def _read(fd: int) -> Optional[Holder]:
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
        return Holder(int(data["pid"]), str(data["command"]), float(data["started"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # the holder has not written it yet


def _busy(command: str, holder: Optional[Holder], log_file: Path) -> UserError:
    if holder is None:
        who = "another jupyter-bootstrap run is in progress"
    else:
        who = f"`jupyter-bootstrap {holder.command}` is already running ({holder.describe()})"
    return UserError(
        f"{who}, so this {command} changes nothing",
        hint=f"wait for it to finish, then run {command} again; follow it meanwhile with: "
        f"tail -f {log_file}",
    )
