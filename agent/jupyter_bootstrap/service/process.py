"""A running process as /proc tells it: its arguments, its user and its cgroup. Enough to
check that the process systemd runs for our unit is the Jupyter we want, as the user we
want, whatever a state file of ours says."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import NamedTuple, Optional

PROC = Path("/proc")


class Process(NamedTuple):
    pid: int
    argv: tuple[str, ...]
    uid: Optional[int]
    cgroup: str  # e.g. /system.slice/jupyter.service ("" when unknown)

    def in_unit(self, unit: str) -> bool:
        return self.cgroup.rstrip("/").endswith("/" + unit)


def read(pid: int, proc: Path = PROC) -> Optional[Process]:
    """The process, or None when it is gone. Fields we may not read stay empty."""
    base = proc / str(pid)
    if not base.is_dir():
        return None
    argv: tuple[str, ...] = ()
    with contextlib.suppress(OSError):
        raw = (base / "cmdline").read_bytes()
        argv = tuple(part.decode(errors="replace") for part in raw.split(b"\0") if part)
    if not argv:  # a kernel thread or a zombie: its name is all there is
        with contextlib.suppress(OSError):
            argv = tuple((base / "comm").read_text().split()[:1])
    uid = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in (base / "status").read_text().splitlines():
            if line.startswith("Uid:"):
                uid = int(line.split()[1])  # the real uid
    cgroup = ""
    with contextlib.suppress(OSError):
        for line in (base / "cgroup").read_text().splitlines():
            if line.startswith("0::"):
                cgroup = line[3:]
    return Process(pid, argv, uid, cgroup)
