"""Who is listening on a TCP port, read from /proc (no ss/lsof needed, nothing to install).

/proc/net/tcp{,6} list the listening sockets with their inode; /proc/PID/fd links to
`socket:[INODE]` show which process holds one. Processes of other users are invisible to a
non-root caller: those holders are reported without a name.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

PROC = Path("/proc")
LISTEN = "0A"  # TCP_LISTEN in the kernel's `st` column


@dataclass(frozen=True)
class PortHolder:
    pid: Optional[int]  # None: a socket whose process we may not look at
    command: str
    cgroup: str  # e.g. /system.slice/jupyter.service

    def in_unit(self, unit: str) -> bool:
        return self.cgroup.rstrip("/").endswith("/" + unit)

    def describe(self) -> str:
        if self.pid is None:
            return "a process of another user (see `sudo ss -ltnp`)"
        return f"process {self.pid} ({self.command})"


def listening_inodes(port: int, proc: Path = PROC) -> set[int]:
    inodes: set[int] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != LISTEN:
                continue
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(int(fields[9]))
    return inodes


def holders(port: int, proc: Path = PROC) -> list[PortHolder]:
    """Every process listening on `port` (any address, IPv4 or IPv6)."""
    wanted = {f"socket:[{inode}]" for inode in listening_inodes(port, proc)}
    found: list[PortHolder] = []
    seen: set[str] = set()
    for entry in proc.iterdir():
        if not entry.name.isdigit() or not wanted - seen:
            continue
        for link in _socket_links(entry):
            if link in wanted:
                seen.add(link)
                found.append(_holder(entry))
                break
    if wanted - seen:
        found.append(PortHolder(None, "", ""))
    return found


def _socket_links(process: Path) -> list[str]:
    links = []
    with contextlib.suppress(OSError):  # gone, or not ours to look at
        for fd in os.scandir(process / "fd"):
            with contextlib.suppress(OSError):
                links.append(os.readlink(fd.path))
    return links


def _holder(process: Path) -> PortHolder:
    command = ""
    with contextlib.suppress(OSError):
        raw = (process / "cmdline").read_bytes()
        command = raw.replace(b"\0", b" ").decode(errors="replace").strip()
    if not command:
        with contextlib.suppress(OSError):
            command = (process / "comm").read_text().strip()
    cgroup = ""
    with contextlib.suppress(OSError):
        for line in (process / "cgroup").read_text().splitlines():
            if line.startswith("0::"):
                cgroup = line[3:]
    if len(command) > 60:
        command = command[:57] + "..."
    return PortHolder(int(process.name), command, cgroup)
