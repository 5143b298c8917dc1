"""Results derived from exact inputs, kept so that the next run can take them instead of
deriving them again: a rendered template (templating.py), the facts of a certificate
(certificate_facts.py), the verdict on the saved password hash (jupyter_hash.py). A
converged `status` or `init` derives the same things every time, and deriving them meant
importing jinja2, cryptography and argon2.

Each result is kept in one file per name (a template's, say), with the digest of
everything it depends on: a result whose inputs changed is derived again and replaces the
old one, so nothing stale (an old password's hash in a rendered config) piles up. A kept
result is believed only when it is whole (the digest stored with it matches) and is this
user's alone: the file and its directory are owned by the process's user and writable by
nobody else, as is every directory from $HOME down to it, none of them a symlink (root
run with the login user's HOME, as by sudo -E, therefore never takes a unit's text from
where that user writes). Keeping is best effort: a full disk or a read-only home costs
the next run the work, nothing else.

`status` and `init --dry-run` change nothing, not even this: they only recall
(recall_only). A converging command keeps what its preflight derived only when the
preflight was not refused (held_until_done).
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

# None: keep at once; a list: held (see held_until_done); "off": recall only.
_held: Union[list[tuple[str, str, str, bytes]], str, None] = None


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
    held: list[tuple[str, str, str, bytes]] = []
    before, _held = _held, held
    try:
        yield
    finally:
        _held = before
    for kind, name, key, result in held:
        keep(kind, name, key, result)


def digest(*parts: bytes) -> str:
    """A key for `parts` taken together (each one's length counts, so no two ways of
    cutting the same bytes into parts give the same key)."""
    hashed = hashlib.sha256()
    for part in parts:
        hashed.update(len(part).to_bytes(8, "big"))
        hashed.update(part)
    return hashed.hexdigest()


def package_code(package: str, *files: str) -> Optional[list[bytes]]:
    """The bytes of `files`, named as they sit beside the `__init__.py` of the installed
    `package`, found without importing it: a result keyed on them is derived again when that
    package is upgraded. None when the package or a file cannot be found or read; then
    nothing is recalled or kept, and the result is derived every time."""
    import importlib.util  # only here: --help and --version never key anything

    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):  # ValueError: a module in sys.modules without a spec
        return None
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent
    try:
        return [(folder / name).read_bytes() for name in files]
    except OSError:
        return None


def recall(kind: str, name: str, key: str) -> Optional[bytes]:
    """The result kept as `name` when it was derived from the inputs whose digest is `key`
    and can be believed; else None."""
    with _directory(kind, create=False) as directory:
        if directory is None:
            return None
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=directory)
        except OSError:
            return None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or not _only_ours(info):
                return None
            with os.fdopen(os.dup(fd), "rb") as stream:
                data = stream.read()
        except OSError:
            return None
        finally:
            os.close(fd)
    kept_key, _, rest = data.partition(b"\n")
    check, _, result = rest.partition(b"\n")
    if kept_key != key.encode() or check != _checksum(kept_key, result):
        return None
    return result


def keep(kind: str, name: str, key: str, result: bytes) -> None:
    """Keep `result` as `name`, derived from the inputs whose digest is `key`."""
    if _held == "off":
        return
    if isinstance(_held, list):
        _held.append((kind, name, key, result))
        return
    with _directory(kind, create=True) as directory:
        if directory is None:
            return
        temporary = f".{name}.{os.getpid()}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        try:
            fd = os.open(temporary, flags, 0o600, dir_fd=directory)
            with os.fdopen(fd, "wb") as stream:
                stream.write(
                    b"%s\n%s\n%s" % (key.encode(), _checksum(key.encode(), result), result)
                )
            os.replace(temporary, name, src_dir_fd=directory, dst_dir_fd=directory)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temporary, dir_fd=directory)


def _checksum(key: bytes, result: bytes) -> bytes:
    return hashlib.sha256(key + b"\n" + result).hexdigest().encode()


@contextlib.contextmanager
def _directory(kind: str, create: bool) -> Iterator[Optional[int]]:
    """The directory of `kind`, open, when it and every directory from $HOME down to it is
    this user's alone (owned by them, writable by nobody else, not a symlink); None: do
    without. Walked one directory at a time, each opened relative to the one above, so
    nothing can be swapped in between the check and the use."""
    fd = _walk(kind, create)
    try:
        yield fd
    finally:
        if fd is not None:
            os.close(fd)


def _walk(kind: str, create: bool) -> Optional[int]:
    try:
        fd = os.open(Path.home(), os.O_RDONLY | os.O_DIRECTORY)
    except (OSError, RuntimeError):
        return None
    try:
        for part in (*RECORD_DIR.parts, kind):
            if not _only_ours(os.fstat(fd)):
                raise PermissionError(part)
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o700, dir_fd=fd)
            below = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = below
        if not _only_ours(os.fstat(fd)):
            raise PermissionError(kind)
    except OSError:
        os.close(fd)
        return None
    return fd


def _only_ours(info: os.stat_result) -> bool:
    return info.st_uid == os.geteuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
