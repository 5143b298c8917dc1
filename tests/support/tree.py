"""A snapshot of every file under a directory: content hash, mtime and mode."""

from __future__ import annotations

import hashlib
from pathlib import Path


def snapshot(root: Path) -> dict[str, tuple[str, int, int]]:
    state = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.endswith(".log"):
            info = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            state[str(path.relative_to(root))] = (digest, info.st_mtime_ns, info.st_mode & 0o7777)
    return state
