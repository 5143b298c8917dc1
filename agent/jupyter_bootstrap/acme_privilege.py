"""Where the CA's checks can be answered: ports 443 and 80 are below 1024, which Linux keeps
for root and for processes holding CAP_NET_BIND_SERVICE. The agent never serves them as
root. When this process cannot bind them, the order runs as `jupyter-bootstrap cert renew`
in a transient systemd unit, as the login user, with that one capability and no other (the
renewal timer's unit carries the same capability for the same reason)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from jupyter_bootstrap.run import run, sudo_argv

CAP_NET_BIND_SERVICE = 10  # linux/capability.h
UNPRIVILEGED_PORT_START = Path("/proc/sys/net/ipv4/ip_unprivileged_port_start")
DEFAULT_UNPRIVILEGED_PORT_START = 1024
# The environment the unit's process inherits from this one: our own knobs (the metadata
# URL, the tests' loopback switch) and the locale; nothing else of the caller's.
PASSED_PREFIXES = ("JUPYTER_BOOTSTRAP_",)
PASSED_NAMES = ("LANG", "LC_ALL", "NO_COLOR")
ORDER_TIMEOUT = 600.0
# Tells `cert renew` in the unit that the run which started it holds the run lock (by its
# PID): it works under that lock instead of being refused by it.
LOCK_HOLDER_ENV = "JUPYTER_BOOTSTRAP_LOCK_HOLDER"


def _first_unprivileged_port() -> int:
    try:
        return int(UNPRIVILEGED_PORT_START.read_text().strip())
    except (OSError, ValueError):
        return DEFAULT_UNPRIVILEGED_PORT_START


def _effective_capabilities() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    except (OSError, ValueError, IndexError):
        pass
    return 0


def can_bind(ports: Iterable[int], account_uid: int) -> bool:
    """Whether this process may answer the CA's checks on every one of `ports` itself: it
    runs as the account (root acting for a login user, as under cloud-init, must not serve
    them) and may listen there."""
    if os.geteuid() != account_uid:
        return False
    first = _first_unprivileged_port()
    if all(port >= first for port in ports):
        return True
    return bool(_effective_capabilities() & (1 << CAP_NET_BIND_SERVICE))


def passed_environment(environ: Mapping[str, str]) -> dict[str, str]:
    return {
        key: value
        for key, value in environ.items()
        if key.startswith(PASSED_PREFIXES) or key in PASSED_NAMES
    }


def renew_in_unit_argv(user: str, group: str, home: Path, force: bool) -> list[str]:
    """`cert renew` in a transient unit that holds CAP_NET_BIND_SERVICE and nothing more;
    its output comes back through --pipe, its exit status through --wait."""
    argv = [
        "systemd-run",
        "--quiet",
        "--wait",
        "--pipe",
        "--collect",
        f"--unit=jupyter-bootstrap-acme-{os.getpid()}",
        "--service-type=exec",
        f"--uid={user}",
        f"--gid={group}",
        "--property=AmbientCapabilities=CAP_NET_BIND_SERVICE",
        "--property=CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
        "--property=NoNewPrivileges=yes",
        f"--working-directory={home}",
        f"--setenv=HOME={home}",
    ]
    environment = passed_environment(os.environ)
    environment[LOCK_HOLDER_ENV] = str(os.getpid())
    for key, value in sorted(environment.items()):
        argv.append(f"--setenv={key}={value}")
    argv += [sys.executable, "-m", "jupyter_bootstrap", "cert", "renew"]
    if force:
        argv.append("--force")
    return argv


def renew_in_unit(user: str, group: str, home: Path, force: bool) -> tuple[int, str]:
    """(exit status, what it printed) of `cert renew` run with the capability."""
    argv = sudo_argv(renew_in_unit_argv(user, group, home, force))
    result = run(argv, check=False, timeout=ORDER_TIMEOUT, what="getting the certificate")
    return result.returncode, (result.stdout + result.stderr).strip()
