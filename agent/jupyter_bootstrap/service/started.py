"""What the running server was started with, remembered between runs.

A run that changes the config and then fails before restarting the server must still
restart it next time. So when we (re)start the service we record a fingerprint of the unit
and the config in state.json; a later check compares the files with it. The certificate is
not part of it: the server reads that file again for every new connection.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from jupyter_bootstrap.files import Owner, atomic_write, ensure_dir

SCHEMA_VERSION = 1
SECTION = "services"


def fingerprint(unit_text: str, files: Sequence[Path]) -> str:
    """sha256 over the unit and each file's path and bytes (a missing or unreadable file
    counts as such): a file's content can only be told apart, never learnt, from it."""
    digest = hashlib.sha256()
    digest.update(unit_text.encode())
    for path in files:
        digest.update(b"\0" + str(path).encode() + b"\0")
        try:
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError as error:
            digest.update(f"<{error.__class__.__name__}>".encode())
    return digest.hexdigest()


def server_fingerprint(unit_text: str, config: Path) -> str:
    """What a server started from this unit reads at start and keeps: the unit and its
    config. Not the certificate: the server reads that file again for every new connection,
    so a new one is served without a restart."""
    return fingerprint(unit_text, [config])


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # lost or damaged: the next check just sees "no record" and restarts
    return data if isinstance(data, dict) else {}


def recorded(path: Path, unit: str) -> Optional[str]:
    entry = _load(path).get(SECTION, {}).get(unit)
    if isinstance(entry, dict) and isinstance(entry.get("fingerprint"), str):
        return str(entry["fingerprint"])
    return None


def _save(path: Path, data: dict[str, Any], owner: Optional[Owner]) -> None:
    data["schema_version"] = SCHEMA_VERSION
    ensure_dir(path.parent, 0o700, owner)
    atomic_write(path, json.dumps(data, indent=2, sort_keys=True) + "\n", 0o600, owner)


def record(path: Path, unit: str, value: str, owner: Optional[Owner] = None) -> None:
    """Remember `value` for `unit`, keeping whatever else state.json holds."""
    data = _load(path)
    services = data.get(SECTION)
    if not isinstance(services, dict):
        services = data[SECTION] = {}
    started = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    services[unit] = {"fingerprint": value, "started": started}
    _save(path, data, owner)
