"""The last attempt to get a certificate from the CA: when, whether it worked, what the CA
or the network said, and whether a self-signed certificate stands in meanwhile. Renewals run
unattended (a timer, the boot), so this record is how `status` and `info` can tell the user
what happened while nobody was looking."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import NamedTuple, Optional

from jupyter_bootstrap.files import Owner, atomic_write, ensure_dir

FILE_NAME = "certificate.json"


class RenewalRecord(NamedTuple):
    attempted_at: str  # UTC, YYYY-MM-DDTHH:MM:SSZ
    ok: bool
    detail: str  # what was issued, or what went wrong (one line)
    # A self-signed certificate is served because the CA's had expired (or was never
    # issued) and the CA could not be reached.
    fallback: bool = False
    hint: Optional[str] = None  # what to do about a failure
    # Of the certificate the CA issued: how a later change of kind (back to self-signed)
    # knows it as ours rather than a file of the user's.
    fingerprint: Optional[str] = None

    @property
    def when(self) -> str:
        return self.attempted_at.replace("T", " ").rstrip("Z") + " UTC"


def _path(state_dir: Path) -> Path:
    return state_dir / FILE_NAME


def now_text() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def load(state_dir: Path) -> Optional[RenewalRecord]:
    """The record, None when there is none or it cannot be read (it only informs)."""
    try:
        data = json.loads(_path(state_dir).read_text(encoding="utf-8"))
        return RenewalRecord(
            attempted_at=str(data["attempted_at"]),
            ok=bool(data["ok"]),
            detail=str(data["detail"]),
            fallback=bool(data.get("fallback", False)),
            hint=str(data["hint"]) if data.get("hint") else None,
            fingerprint=str(data["fingerprint"]) if data.get("fingerprint") else None,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save(state_dir: Path, record: RenewalRecord, owner: Optional[Owner] = None) -> None:
    ensure_dir(state_dir, 0o700, owner)
    atomic_write(_path(state_dir), json.dumps(record._asdict(), indent=2) + "\n", 0o600, owner)


def forget(state_dir: Path) -> None:
    _path(state_dir).unlink(missing_ok=True)
