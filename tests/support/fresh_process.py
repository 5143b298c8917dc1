"""A command of the agent run in a fresh interpreter, to see which modules it loaded: what
a converged `status` or `init` imports is part of what it costs (timings are
benchmarks/run_all's business; this is the import side)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

# What checking a machine that is set up never needs: the ACME client (a certificate being
# ordered), requests (conda being downloaded), jinja2 (a config or unit that changed is
# rendered again; the same one is recalled), cryptography (a certificate that changed is
# read again; the same one's facts are recalled) and argon2 (a password hash that changed is
# judged again; the same one's verdict is recalled).
NOT_FOR_CHECKS = (
    "requests", "urllib3", "acme", "josepy", "OpenSSL", "jinja2", "cryptography", "argon2",
)  # fmt: skip

PROBE = """
import json, os, pwd, sys
from pathlib import Path
from jupyter_bootstrap import account, https_probe, paths
from jupyter_bootstrap.account import Account
from jupyter_bootstrap.https_probe import ProbeResult
from jupyter_bootstrap.service import systemctl

# What the unit tier's fixtures do: the account pinned to this uid and home, a supported
# OS, the stand-in systemd's units, and no server (the probe answers for it).
name = pwd.getpwuid(os.getuid()).pw_name
pinned = Account(name, os.getuid(), os.getgid(), Path(os.environ["HOME"]))
account.resolve = lambda user: pinned
paths.OS_RELEASE = Path(sys.argv[1])
paths.SYSTEMD_UNIT_DIR = Path(sys.argv[2])
systemctl.BOOTED_MARKER = Path(sys.argv[3])
https_probe.probe = lambda target: ProbeResult(True, f"{target.url} answers")
from jupyter_bootstrap.cli import main
sys.argv = ["jupyter-bootstrap", *sys.argv[4:]]
try:
    main()
    code = 0
except SystemExit as exit:
    code = exit.code
frozen = sorted(
    f"{module.__name__}.{value.__name__}"
    for module in list(sys.modules.values())
    if getattr(module, "__name__", "").startswith("jupyter_bootstrap")
    for value in vars(module).values()
    if isinstance(value, type)
    and value.__module__ == module.__name__
    and getattr(value, "__dataclass_params__", None) is not None
    and value.__dataclass_params__.frozen
)
sys.stderr.write(json.dumps({"code": code, "modules": sorted(sys.modules), "frozen": frozen}))
"""


@dataclass(frozen=True)
class Loaded:
    code: object  # the exit code (an int, or what SystemExit carried)
    modules: frozenset[str]
    output: str
    # The frozen dataclasses of the agent that got created: each compiles six methods from
    # source at import, about 0.6 ms, where a NamedTuple compiles one.
    frozen_dataclasses: tuple[str, ...] = ()

    def heavy(self) -> list[str]:
        """What a check of a machine that is set up should not have needed."""
        return among(self.modules, NOT_FOR_CHECKS)


def among(modules: Iterable[str], packages: Iterable[str]) -> list[str]:
    """The modules of `modules` that are one of `packages` or inside one."""
    wanted = tuple(packages)
    return sorted(
        name for name in modules if any(name == p or name.startswith(p + ".") for p in wanted)
    )


def loaded_by(args: Sequence[str], os_release: Path, unit_dir: Path, booted_marker: Path) -> Loaded:
    """`jupyter-bootstrap ARGS` in a fresh interpreter, as the unit tier's fixtures pin it:
    the account (this uid, $HOME), the OS, the units systemd holds, whether it is booted,
    and a server that answers."""
    argv = [sys.executable, "-c", PROBE, str(os_release), str(unit_dir), str(booted_marker)]
    result = subprocess.run(
        [*argv, *args], capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )
    found = json.loads(result.stderr.splitlines()[-1])
    return Loaded(
        found["code"],
        frozenset(found["modules"]),
        result.stdout + result.stderr,
        tuple(found["frozen"]),
    )
