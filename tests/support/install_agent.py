"""Install the agent into an e2e instance the way a user does: `curl ... | bash`.

The checkout is built into a wheel and served, with install.sh, from a loopback HTTP server
(the instance shares the host's network namespace, so 127.0.0.1 reaches it):

    wheel = build_wheel(tmp_dir)
    with serve_installer(wheel) as served:
        result = install_agent(instance, served)   # as ubuntu, in a login shell
        instance.run("jupyter-bootstrap status", user="ubuntu")

install.sh itself then installs python3-venv with apt (sudo -n) when the instance lacks it,
makes ~/.local/share/jupyter-bootstrap/venv and links /usr/local/bin/jupyter-bootstrap.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Protocol, Union

from tests.support.installer_server import InstallerServer

REPO = Path(__file__).resolve().parents[2]
INSTALL_SH = REPO / "install.sh"
# The instance's copy of the host's pip cache (see tests/e2e/instance.py): repeated installs
# of cryptography and friends then cost no download.
INSTANCE_PIP_CACHE = "/var/cache/jb-e2e-pip"


class Instance(Protocol):
    """What these helpers need of tests/e2e/instance.SystemdInstance."""

    def run(
        self,
        cmd: str,
        *,
        user: str = ...,
        check: bool = ...,
        timeout: float = ...,
        env: Optional[Mapping[str, str]] = ...,
    ) -> subprocess.CompletedProcess[str]: ...


def build_wheel(out_dir: Path) -> Path:
    """A wheel of the checkout in `out_dir`, built with the test environment's hatchling when
    it has one (no download), else in pip's isolated build environment."""
    out_dir.mkdir(parents=True, exist_ok=True)
    isolation = [] if importlib.util.find_spec("hatchling") is None else ["--no-build-isolation"]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            *isolation,
            "-q",
            "-w",
            str(out_dir),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    wheels = sorted(out_dir.glob("jupyter_bootstrap-*.whl"))
    assert len(wheels) == 1, f"expected one wheel in {out_dir}, found {wheels}"
    return wheels[0]


@dataclass(frozen=True)
class Served:
    """URLs of the served installer and wheel."""

    server: InstallerServer
    script_url: str
    wheel_url: str

    def pipe_command(self, script_url: Optional[str] = None, *, then: str = "") -> str:
        """The README's first line, with the wheel as the source: `curl URL | ... bash`."""
        url = script_url or self.script_url
        command = (
            f"curl -fsSL {shlex.quote(url)} | "
            f"JUPYTER_BOOTSTRAP_SOURCE={shlex.quote(self.wheel_url)} bash"
        )
        return f"{command} && {then}" if then else command


@contextlib.contextmanager
def serve_installer(wheel: Path, extra: Optional[Mapping[str, bytes]] = None) -> Iterator[Served]:
    """Serve install.sh (as it is in the checkout now), the wheel and any `extra` paths."""
    files: dict[str, Union[bytes, Path]] = {"/install.sh": INSTALL_SH, f"/{wheel.name}": wheel}
    files.update(extra or {})
    with InstallerServer(files) as server:
        yield Served(server, server.url("/install.sh"), server.url(f"/{wheel.name}"))


def install_env() -> dict[str, str]:
    """Variables for the user's shell inside: the shared pip cache, and no proxy for the
    loopback server (a host proxy, if any, is passed into the instance)."""
    no_proxy = ",".join(
        p for p in (os.environ.get("no_proxy") or os.environ.get("NO_PROXY"), "127.0.0.1") if p
    )
    return {"PIP_CACHE_DIR": INSTANCE_PIP_CACHE, "no_proxy": no_proxy, "NO_PROXY": no_proxy}


def install_agent(
    instance: Instance, served: Served, user: str = "ubuntu", check: bool = True
) -> subprocess.CompletedProcess[str]:
    """`curl .../install.sh | bash` in a login shell of `user`, then `jupyter-bootstrap
    --version` in that same shell (so the command must be on its PATH)."""
    script = f"bash -lc {shlex.quote(served.pipe_command(then='jupyter-bootstrap --version'))}"
    return instance.run(script, user=user, env=install_env(), timeout=900, check=check)
