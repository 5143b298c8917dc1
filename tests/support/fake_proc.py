"""A /proc of the test's own for port_owner: sockets listening on a port, in net/tcp as the
kernel writes it, and the processes that hold them (one fd each, a command line and a
cgroup). A socket no process holds here is one whose process may not be looked into."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

TCP_HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid"


def listening(root: Path, port: int, sockets: Iterable[tuple[int, int]]) -> Path:
    """`root`/net/tcp with one socket listening on 0.0.0.0:`port` per (inode, uid)."""
    rows = [
        f"{n:4}: 00000000:{port:04X} 00000000:0000 0A 00000000:00000000 00:00000000 00000000"
        f"  {uid:4} 0 {inode}"
        for n, (inode, uid) in enumerate(sockets)
    ]
    (root / "net").mkdir(parents=True, exist_ok=True)
    (root / "net" / "tcp").write_text("\n".join([TCP_HEADER, *rows]) + "\n")
    return root


def holding(root: Path, pid: int, inode: int, argv: list[str], cgroup: str) -> None:
    """Process `pid` in `root`, holding socket `inode` as its fd 3."""
    process = root / str(pid)
    (process / "fd").mkdir(parents=True)
    os.symlink(f"socket:[{inode}]", process / "fd" / "3")
    (process / "cmdline").write_bytes(b"".join(part.encode() + b"\0" for part in argv))
    (process / "cgroup").write_text(f"0::{cgroup}\n")
