"""Writing the user's files: atomic, with the final mode and owner set before the file
appears, and a timestamped backup before we change what someone else wrote.

Configs, keys, certificates, settings and state all go through `atomic_write`. Three writers
have rules of their own and say so where they are: the installer download streams into a
locked `.part` file that is renamed when verified (download.py), the log is appended to
(run.py), and the systemd unit is written as root through sudo (service/unit.py). Which
lines of a config are ours is managed_block.py's business."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from datetime import datetime
from pathlib import Path
from typing import NamedTuple, Optional, Union

from jupyter_bootstrap.errors import StepFailed, UserError


class Owner(NamedTuple):
    """Who should own what we write (the login user, even when the agent runs as root)."""

    uid: int
    gid: int

    @classmethod
    def current(cls) -> Owner:
        return cls(os.getuid(), os.getgid())


def atomic_write(
    path: Path,
    data: Union[str, bytes],
    mode: int,
    owner: Optional[Owner] = None,
) -> None:
    """Write `data` to `path` so that a crash at any moment leaves the old file or the new one.

    The temporary file is created in the same directory (rename must not cross file systems)
    and gets its final mode and owner before the rename, so the secret in a key file is never
    readable by others, not even for a moment.
    """
    # Imported here: a check that finds nothing to write (status, a no-op init) never
    # pays for tempfile and the shutil and random it pulls in.
    import tempfile

    payload = data.encode("utf-8") if isinstance(data, str) else data
    directory = path.parent
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, mode)
        if owner is not None and os.geteuid() == 0:
            os.fchown(fd, owner.uid, owner.gid)
        with os.fdopen(fd, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    fsync_directory(directory)


def fsync_directory(directory: Path) -> None:
    # The rename itself is only durable once the directory entry is on disk.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_dir(path: Path, mode: int, owner: Optional[Owner] = None) -> bool:
    """Create `path` (and missing parents) with `mode`; fix mode and owner if they drifted.

    Returns True when anything changed.
    """
    changed = False
    if not path.is_dir():
        if path.exists():
            raise UserError(
                f"{path} exists but is not a directory",
                hint="move it out of the way, then run the command again",
            )
        _make_parents(path.parent, owner)
        path.mkdir(mode=mode)
        changed = True
    info = path.stat()
    if info.st_mode & 0o7777 != mode:
        path.chmod(mode)
        changed = True
    if (
        owner is not None
        and os.geteuid() == 0
        and (info.st_uid, info.st_gid)
        != (
            owner.uid,
            owner.gid,
        )
    ):
        os.chown(path, owner.uid, owner.gid)
        changed = True
    return changed


def _make_parents(path: Path, owner: Optional[Owner]) -> None:
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        directory.mkdir(mode=0o755)
        if owner is not None and os.geteuid() == 0:
            os.chown(directory, owner.uid, owner.gid)


def mode_of(path: Path) -> int:
    return path.stat().st_mode & 0o7777


def set_mode(path: Path, mode: int, owner: Optional[Owner] = None) -> None:
    """Repair the mode (and, as root, the owner) of a file whose bytes are right: no rewrite,
    so nothing that reads it sees a new file. A symlink put in its place is not followed
    (root acting for a user must not chmod whatever the link points at)."""
    try:
        # O_PATH: no read permission needed (a mode of 000 is what may need repairing) and
        # nothing is opened for I/O, so a FIFO put in its place cannot block us.
        fd = os.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(errno.EINVAL, "not a regular file")
            through = f"/proc/self/fd/{fd}"
            os.chmod(through, mode)
            if owner is not None and os.geteuid() == 0:
                os.chown(through, owner.uid, owner.gid)
        finally:
            os.close(fd)
    except OSError as error:
        raise StepFailed(
            f"cannot set the mode of {path} to {mode:o}: {error.strerror}",
            hint=f"check its owner (ls -l {path}); it should belong to you, not to root",
        ) from None


def nearest_existing(path: Path) -> Path:
    """`path`, or the closest directory above it that exists (where it would be created)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def backup_path(path: Path, label: str = "bak") -> Path:
    """A sibling name that does not exist yet: `name.bak-20261126-142501` (then -2, -3...)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate = path.with_name(f"{path.name}.{label}-{stamp}")
    counter = 2
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.{label}-{stamp}-{counter}")
        counter += 1
    return candidate


def write_backup(path: Path, data: bytes, owner: Optional[Owner] = None) -> Path:
    """Keep a copy of what we are about to change; same mode as a config (0600: it may hold
    a password hash)."""
    target = backup_path(path)
    atomic_write(target, data, 0o600, owner)
    return target


def read_bytes_or_none(path: Path) -> Optional[bytes]:
    """The file's bytes, None when it does not exist; a permission problem is a user error."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise UserError(
            f"{path} is a directory, not a file", hint="move it out of the way and run again"
        ) from None
    except PermissionError:
        raise UserError(
            f"cannot read {path}: permission denied",
            hint=f"check its owner and mode (ls -l {path}); it should belong to you",
        ) from None
