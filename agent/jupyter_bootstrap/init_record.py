"""The last `init`: when it started, whether it finished, and where and why it failed.

`init` often runs with nobody watching (cloud-init at first boot, a PuTTY session that
dropped), so this record is how `status`, run later by the user, can say what happened:
that the setup at first boot failed at the conda step and why, that it is still running,
or that it stopped half-way. Written once a run is past its preflight (from there on it
changes things), and when it fails; removed when it ends well (that is no news, and a
re-run with nothing to change must leave every file as it was). A refusal in the preflight
leaves no record, like it leaves no file, except at first boot, where nobody saw it."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import NamedTuple, Optional

from jupyter_bootstrap.files import Owner, atomic_write, ensure_dir

FILE_NAME = "last-init.json"


class InitRecord(NamedTuple):
    started_at: str  # UTC, YYYY-MM-DDTHH:MM:SSZ
    # True: started by the first-boot script of `jupyter-bootstrap cloud-init`.
    first_boot: bool = False
    finished_at: Optional[str] = None  # None: still running, or killed before the end
    ok: Optional[bool] = None
    step: Optional[str] = None  # the step that failed
    message: Optional[str] = None  # its error, one line
    hint: Optional[str] = None  # what the error said to do

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    @property
    def failed(self) -> bool:
        return self.finished and self.ok is False

    @property
    def who(self) -> str:
        """`the setup at first boot (cloud-init)` or `the last \\`jupyter-bootstrap init\\``."""
        if self.first_boot:
            return "the setup at first boot (cloud-init)"
        return "the last `jupyter-bootstrap init`"

    def failed_at(self, step: Optional[str], message: str, hint: Optional[str]) -> InitRecord:
        return self._replace(
            finished_at=now_text(), ok=False, step=step, message=message, hint=hint
        )


def when(stamp: str) -> str:
    """`2025-06-01 10:02 UTC` from a record's UTC stamp."""
    return stamp.replace("T", " ")[:16] + " UTC"


def now_text() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def started(first_boot: bool) -> InitRecord:
    return InitRecord(started_at=now_text(), first_boot=first_boot)


def _path(state_dir: Path) -> Path:
    return state_dir / FILE_NAME


def load(state_dir: Path) -> Optional[InitRecord]:
    """The record; None when there is none or it cannot be read (it only informs)."""
    try:
        data = json.loads(_path(state_dir).read_text(encoding="utf-8"))

        def text(key: str) -> Optional[str]:
            value = data.get(key)
            return None if value is None else str(value)

        ok = data.get("ok")
        return InitRecord(
            started_at=str(data["started_at"]),
            first_boot=bool(data.get("first_boot", False)),
            finished_at=text("finished_at"),
            ok=None if ok is None else bool(ok),
            step=text("step"),
            message=text("message"),
            hint=text("hint"),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def forget(state_dir: Path) -> None:
    _path(state_dir).unlink(missing_ok=True)


def save(state_dir: Path, record: InitRecord, owner: Optional[Owner] = None) -> None:
    ensure_dir(state_dir, 0o700, owner)
    atomic_write(_path(state_dir), json.dumps(record._asdict(), indent=2) + "\n", 0o600, owner)
