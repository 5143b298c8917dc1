"""Host: the operating system, the architecture and the user are ones we support."""

from __future__ import annotations

import platform
from typing import Any

from jupyter_bootstrap import os_release, paths
from jupyter_bootstrap.engine import Context, Status, good
from jupyter_bootstrap.errors import UserError

# Oldest release of each distribution we support (its Python and systemd are new enough).
MINIMUM_VERSIONS = {"ubuntu": (20, 4), "debian": (11,)}
ARCHES = ("x86_64", "aarch64")


def _version_tuple(version_id: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version_id.split("."))
    except ValueError:
        return ()


def supported(os_id: str, version_id: str) -> bool:
    minimum = MINIMUM_VERSIONS.get(os_id)
    version = _version_tuple(version_id)
    return minimum is not None and bool(version) and version >= minimum


class HostStep:
    name = "host"

    def check(self, ctx: Context) -> Status[Any]:
        info = os_release.read(paths.OS_RELEASE)
        ctx.facts.os = info
        warnings = []
        if not supported(info.id, info.version_id):
            if not ctx.options.force_os:
                raise UserError(
                    f"{info.pretty_name} is not supported (Ubuntu 20.04+ and Debian 11+ are)",
                    hint="launch an Ubuntu 22.04 or 24.04 instance, or pass --force-os "
                    "to try anyway",
                )
            warnings.append(f"{info.pretty_name} is not supported; going on (--force-os)")
        arch = platform.machine()
        if arch not in ARCHES:
            raise UserError(
                f"processor architecture {arch} is not supported (x86_64 and aarch64 are)",
                hint="choose an x86_64 or Graviton (arm64) instance type",
            )
        ctx.facts.arch = arch
        return good(f"{info.pretty_name}, {arch}, user {ctx.account.name}", warnings)

    def apply(self, ctx: Context, plan: Any) -> str:
        # check() either passes or raises: there is nothing on the host we would change.
        raise AssertionError("host step has nothing to apply")
