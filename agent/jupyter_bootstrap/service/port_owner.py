"""Who is listening on a TCP port, read from /proc (no ss/lsof needed, nothing to install).

/proc/net/tcp{,6} list the listening sockets with their inode; /proc/PID/fd links to
`socket:[INODE]` show which process holds one. Processes of other users are invisible to a
non-root caller: those holders are reported without a name.
"""

from __future__ import annotations

import contextlib
import os
import pwd
from pathlib import Path
from typing import NamedTuple, Optional

from jupyter_bootstrap.service import process

PROC = Path("/proc")
LISTEN = "0A"  # TCP_LISTEN in the kernel's `st` column


# How much of a command line a message shows: two lines of a 100-column terminal at most.
COMMAND_WIDTH = 150
# One argument longer than this (a long path) is shortened to its end, which names the file.
ARGUMENT_WIDTH = 60


class PortHolder(NamedTuple):
    pid: Optional[int]  # None: a socket whose process we may not look at
    command: str  # the whole command line, arguments joined by spaces
    cgroup: str  # e.g. /system.slice/jupyter.service
    argv: tuple[str, ...] = ()
    # The socket's owner, from the kernel's table: known even when the process is not
    # visible to us (another user's, or one with capabilities, whose fds we may not read).
    uid: Optional[int] = None

    def in_unit(self, unit: str) -> bool:
        return self.cgroup.rstrip("/").endswith("/" + unit)

    def describe(self) -> str:
        if self.pid is None:
            return f"a process of {_user(self.uid)} (`sudo ss -ltnp` names it)"
        return f"process {self.pid} ({summarise(self.argv or tuple(self.command.split()))})"


def _user(uid: Optional[int]) -> str:
    if uid is None:
        return "another user"
    try:
        return f"user {pwd.getpwuid(uid).pw_name}"
    except KeyError:  # a uid with no account (a container's, say)
        return f"uid {uid}"


def summarise(argv: tuple[str, ...]) -> str:
    """The program's name and as many of the last arguments as fit: what says a process is
    Jupyter (`.../jupyter-lab --port=8888`) comes after a long interpreter path, so cutting
    the command line at a fixed width would keep only the interpreter."""
    if not argv:
        return "no command line"
    program = _short(os.path.basename(argv[0]) or argv[0])
    arguments = [_short(argument) for argument in argv[1:]]
    kept: list[str] = []
    width = len(program)
    for argument in reversed(arguments):
        if width + 1 + len(argument) + len(" ...") > COMMAND_WIDTH:
            break
        kept.insert(0, argument)
        width += 1 + len(argument)
    if len(kept) < len(arguments):
        kept.insert(0, "...")
    return " ".join([program, *kept])


def _short(argument: str) -> str:
    if len(argument) <= ARGUMENT_WIDTH:
        return argument
    return "..." + argument[-(ARGUMENT_WIDTH - 3) :]


def listening_inodes(port: int, proc: Path = PROC) -> set[int]:
    return set(_listening(port, proc))


def _listening(port: int, proc: Path) -> dict[int, int]:
    """inode -> uid of every socket listening on `port`."""
    sockets: dict[int, int] = {}
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
                sockets[int(fields[9])] = int(fields[7])
    return sockets


def holders(port: int, proc: Path = PROC) -> list[PortHolder]:
    """Every process listening on `port` (any address, IPv4 or IPv6)."""
    sockets = _listening(port, proc)
    wanted = {f"socket:[{inode}]" for inode in sockets}
    found: list[PortHolder] = []
    seen: set[str] = set()
    for entry in proc.iterdir():
        if not entry.name.isdigit() or not wanted - seen:
            continue
        for link in _socket_links(entry):
            if link in wanted:
                seen.add(link)
                found.append(_holder(entry, proc))
                break
    # One holder per owner of the sockets we could not trace to a process: a user's own
    # server with capabilities (whose fds nobody else may read) can share the port with
    # another user's program on a different address, and the two must stay apart.
    unseen = {uid for inode, uid in sockets.items() if f"socket:[{inode}]" not in seen}
    found.extend(PortHolder(None, "", "", uid=uid) for uid in sorted(unseen))
    return found


def _socket_links(process: Path) -> list[str]:
    links = []
    with contextlib.suppress(OSError):  # gone, or not ours to look at
        for fd in os.scandir(process / "fd"):
            with contextlib.suppress(OSError):
                links.append(os.readlink(fd.path))
    return links


def _holder(entry: Path, proc: Path) -> PortHolder:
    found = process.read(int(entry.name), proc)
    if found is None:  # gone since the scan
        return PortHolder(int(entry.name), "", "")
    return PortHolder(found.pid, " ".join(found.argv), found.cgroup, found.argv)
