"""Results derived from exact inputs, kept under the digest of those inputs so that the next
run can take them instead of deriving them again: a rendered template (templating.py), the
facts of a certificate (certificate_facts.py). A converged `status` or `init` derives the
same things every time, and deriving them meant importing jinja2 and cryptography.

The same digest means the same inputs, so a kept result can only be stale if it was changed
by hand. It is therefore only believed when this process's user owns it and nobody else may
write it (a root `init` never takes a unit's text from a directory the login user controls),
and while it still matches the digest stored with it (a file cut short by a crash is derived
again, never used). Keeping is best effort: a full disk or a read-only home costs the next
run the work, nothing else. `status` and `init --dry-run` change nothing, not even this:
they only recall (recall_only); `init` keeps once its preflight was not refused
(held_until_done).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Optional, Union

from jupyter_bootstrap.paths import APP

# Under $HOME, one directory per kind of result.
RECORD_DIR = Path(".cache") / APP
# Results for inputs that changed since are dropped beyond this many of a kind.
KEEP = 64

# None: keep at once; a list: held (see held_until_done); "off": recall only.
_held: Union[list[tuple[str, str, bytes]], str, None] = None


@contextlib.contextmanager
def recall_only() -> Iterator[None]:
    """Within: results are recalled, never kept (a command that promises to change nothing)."""
    global _held
    before, _held = _held, "off"
    try:
        yield
    finally:
        _held = before


@contextlib.contextmanager
def held_until_done() -> Iterator[None]:
    """Within: what is to be kept waits, and is kept only if the block ends without an
    error (a run that is refused changes nothing, in the home or here)."""
    global _held
    held: list[tuple[str, str, bytes]] = []
    before, _held = _held, held
    try:
        yield
    finally:
        _held = before
    for kind, key, result in held:
        keep(kind, key, result)


def digest(*parts: bytes) -> str:
    """A key for `parts` taken together (each one's length counts, so no two ways of
    cutting the same bytes into parts give the same key)."""
    hashed = hashlib.sha256()
    for part in parts:
        hashed.update(len(part).to_bytes(8, "big"))
        hashed.update(part)
    return hashed.hexdigest()


def recall(kind: str, key: str) -> Optional[bytes]:
    """The result kept under `key`, when there is one that can be believed."""
    directory = _directory(kind, create=False)
    if directory is None:
        return None
    try:
        fd = os.open(directory / key, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as stream:
        if not _only_ours(os.fstat(stream.fileno())):
            return None
        data = stream.read()
    check, _, result = data.partition(b"\n")
    return result if check == hashlib.sha256(result).hexdigest().encode() else None


def keep(kind: str, key: str, result: bytes) -> None:
    if _held == "off":
        return
    if isinstance(_held, list):
        _held.append((kind, key, result))
        return
    directory = _directory(kind, create=True)
    if directory is None:
        return
    temporary = directory / f".{key}.{os.getpid()}.tmp"
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as stream:
            stream.write(hashlib.sha256(result).hexdigest().encode() + b"\n" + result)
        os.replace(temporary, directory / key)
        _prune(directory)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()


def _directory(kind: str, create: bool) -> Optional[Path]:
    """The directory of `kind` when it is safely this user's; None: do without."""
    directory = Path.home() / RECORD_DIR / kind
    try:
        if create:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = directory.lstat()
    except (OSError, RuntimeError):
        return None
    return directory if stat.S_ISDIR(info.st_mode) and _only_ours(info) else None


def _only_ours(info: os.stat_result) -> bool:
    return info.st_uid == os.geteuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _prune(directory: Path) -> None:
    entries = [entry for entry in os.scandir(directory) if not entry.name.startswith(".")]
    if len(entries) <= KEEP:
        return
    entries.sort(key=lambda entry: entry.stat().st_mtime)
    for entry in entries[: len(entries) - KEEP]:
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
