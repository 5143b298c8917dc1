"""The login user Jupyter runs as (`ubuntu` on a stock image)."""

from __future__ import annotations

import os
import pwd
from pathlib import Path
from typing import NamedTuple, Optional

from jupyter_bootstrap.errors import UserError
from jupyter_bootstrap.files import Owner


class Account(NamedTuple):
    name: str
    uid: int
    gid: int
    home: Path

    @property
    def owner(self) -> Owner:
        return Owner(self.uid, self.gid)

    @property
    def is_current(self) -> bool:
        return os.geteuid() == self.uid

    def can_read(self, path: Path) -> bool:
        """Whether this user (not necessarily us: we may be root acting for them) can open
        `path`: read on the file, search on every directory above it. A key Jupyter cannot
        read lets it start and then fail every TLS handshake."""
        if self.is_current:
            return os.access(path, os.R_OK)
        groups = set(os.getgrouplist(self.name, self.gid))
        target = path.resolve()
        try:
            for directory in reversed(target.parents):
                if not self._allowed(directory, 0o1, groups):
                    return False
            return self._allowed(target, 0o4, groups)
        except OSError:
            return False

    def _allowed(self, path: Path, bit: int, groups: set[int]) -> bool:
        info = path.stat()
        if info.st_uid == self.uid:
            return bool(info.st_mode & (bit << 6))
        if info.st_gid in groups:
            return bool(info.st_mode & (bit << 3))
        return bool(info.st_mode & bit)


def resolve(user: Optional[str]) -> Account:
    """Who we configure Jupyter for. Root is refused unless a user is named (cloud-init runs
    as root and passes `--user ubuntu`): a Jupyter server running as root is a root shell
    for anyone who learns the password."""
    if user is None:
        entry = pwd.getpwuid(os.geteuid())
        if entry.pw_uid == 0:
            raise UserError(
                "refusing to set Jupyter up for root",
                hint="run it as your login user (e.g. ubuntu), or as root with --user ubuntu",
            )
    else:
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            raise UserError(
                f"there is no user named {user!r} on this machine",
                hint="pass the login user, e.g. --user ubuntu",
            ) from None
        if entry.pw_uid == 0:
            raise UserError("--user root is refused", hint="pass the login user, e.g. ubuntu")
        if os.geteuid() not in (0, entry.pw_uid):
            raise UserError(
                f"--user {user} needs root",
                hint=f"run as {user} without --user, or with sudo",
            )
    home = Path(os.environ["HOME"]) if user is None and "HOME" in os.environ else None
    return Account(entry.pw_name, entry.pw_uid, entry.pw_gid, home or Path(entry.pw_dir))
