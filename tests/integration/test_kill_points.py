"""Crash consistency: the agent is SIGKILLed at every kill point of a fresh `init` (alone, or
with its whole process group, as an SSH drop does), and `init` run again must converge:
exit 0, then `status` exit 0, and every file whole (a config that parses, a key that matches
its certificate, a working conda). The real CLI runs as a process of its own
(tests/support/pinned_cli.py) against a loopback installer.

The tally is printed (`kill points: N tried, N converged`) and recorded for
docs/reliability.md."""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from jupyter_bootstrap import conda, installed, kill_points
from jupyter_bootstrap.conda import PrefixState
from tests.conftest import UBUNTU_2204
from tests.support import reliability
from tests.support.cli import PASSWORD
from tests.support.fake_installer import InstallerSite
from tests.support.pinned_cli import OS_RELEASE_ENV
from tests.support.report import step_states

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
# The named points inside the long applies, beyond `<step>:apply`.
# Running subprocesses are killed with the agent's group: killing only the agent would leave
# the installer running on its own, racing the next run.
NAMED_POINTS = (
    "conda:downloaded",
    "conda:installer-running:group",
    "jupyter:conda-install-running:group",
    "certificate:written",
    "config:written",
)


@dataclass
class Outcome:
    point: str
    killed: bool  # the first run died by SIGKILL at the point
    converged: bool
    detail: str = ""
    rerun: list[str] = field(default_factory=list)  # the second run's command line


class Machine:
    """A fresh home for one try; the agent runs in a session of its own, so a group kill
    reaches the agent and what it runs, never pytest."""

    def __init__(self, root: Path, os_release: Path) -> None:
        self.home = root / "home"
        self.home.mkdir(parents=True)
        self.prefix = self.home / "miniforge3"
        self.env = {**os.environ, "HOME": str(self.home), OS_RELEASE_ENV: str(os_release)}
        self.env.pop(kill_points.ENV, None)

    def agent(
        self, *args: str, stdin: str = "", kill_point: Optional[str] = None
    ) -> subprocess.CompletedProcess[str]:
        env = dict(self.env)
        if kill_point is not None:
            env[kill_points.ENV] = kill_point
        return subprocess.run(
            [sys.executable, "-m", "tests.support.pinned_cli", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            start_new_session=True,
            timeout=600,
        )

    def first_init(self, kill_point: Optional[str] = None) -> subprocess.CompletedProcess[str]:
        return self.agent(
            "init", "--no-service", "--password-stdin", "--distribution", "miniforge",
            "--prefix", str(self.prefix), stdin=PASSWORD + "\n", kill_point=kill_point,
        )  # fmt: skip

    def rerun_args(self) -> tuple[list[str], str]:
        """`init` with no flags. When the run was killed before the password step saved the
        hash, the password is needed again: typed by the user, here given on stdin."""
        settings = self.home / ".config" / "jupyter-bootstrap" / "settings.json"
        saved = json.loads(settings.read_text()) if settings.exists() else {}
        if saved.get("password_hash"):
            return ["init"], ""
        return ["init", "--password-stdin"], PASSWORD + "\n"

    def broken_files(self) -> list[str]:
        """What is not whole: the config must parse, the key match the certificate, the
        prefix be a working conda that the record says this agent installed."""
        problems = []
        config = self.home / ".jupyter" / "jupyter_server_config.py"
        try:
            ast.parse(config.read_text(encoding="utf-8"))
        except (OSError, SyntaxError) as error:
            problems.append(f"config: {error}")
        certs = self.home / "certs"
        try:
            pem = (certs / "mycert.pem").read_bytes()  # the key and the certificate, one file
            key = serialization.load_pem_private_key(pem, None)
            cert = x509.load_pem_x509_certificate(pem)
            spki = serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            if key.public_key().public_bytes(*spki) != cert.public_key().public_bytes(*spki):
                problems.append("certificate: the key does not match the certificate")
        except (OSError, ValueError) as error:
            problems.append(f"certificate: {error}")
        found = conda.inspect_prefix(self.prefix, "chosen", "miniforge")
        if found.state is not PrefixState.READY:
            problems.append(f"conda: {found.state.value} {found.problem}")
        state_dir = self.home / ".local" / "state" / "jupyter-bootstrap"
        if installed.conda_record(state_dir, self.prefix) is None:
            problems.append("conda: not recorded as installed by jupyter-bootstrap")
        return problems


def output(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout}{result.stderr}"


def try_point(machine: Machine, point: str) -> Outcome:
    first = machine.first_init(point)
    if first.returncode != -signal.SIGKILL:
        return Outcome(point, False, False, "the point was not reached:\n" + output(first))
    args, stdin = machine.rerun_args()
    again = machine.agent(*args, stdin=stdin)
    outcome = Outcome(point, True, False, rerun=args)
    if again.returncode != 0:
        outcome.detail = "the next init failed:\n" + output(again)
        return outcome
    status = machine.agent("status")
    if status.returncode != 0:
        outcome.detail = "status after the next init:\n" + output(status)
        return outcome
    problems = machine.broken_files()
    outcome.converged = not problems
    outcome.detail = "; ".join(problems)
    return outcome


@pytest.fixture
def stock_os_release(tmp_path: Path) -> Path:
    path = tmp_path / "stock-os-release"
    path.write_text(UBUNTU_2204)
    return path


def test_init_converges_after_a_kill_at_every_kill_point(
    site: InstallerSite,
    tmp_path: Path,
    stock_os_release: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    site.publish_default("miniforge")
    # Which steps a fresh init carries out: each gets its `<step>:apply` point.
    baseline = Machine(tmp_path / "baseline", stock_os_release)
    clean = baseline.first_init()
    assert clean.returncode == 0, output(clean)
    applied = [name for name, state in step_states(clean.stdout).items() if state == "changed"]
    assert {"conda", "jupyter", "certificate", "config"} <= set(applied), clean.stdout
    assert baseline.broken_files() == []

    points = [f"{name}:apply" for name in applied] + list(NAMED_POINTS)
    outcomes = [
        try_point(Machine(tmp_path / f"try-{i}", stock_os_release), point)
        for i, point in enumerate(points)
    ]
    tried = sum(o.killed for o in outcomes)
    converged = sum(o.converged for o in outcomes)
    line = f"kill points: {tried} tried, {converged} converged"
    with capsys.disabled():
        print(f"\n{line}")
        for o in outcomes:
            print(f"  {o.point}: {'converged' if o.converged else 'FAILED'}")
    reliability.record(
        "kill points",
        tried=tried,
        converged=converged,
        points=", ".join(o.point for o in outcomes),
    )
    failed = [f"{o.point}: {o.detail}" for o in outcomes if not o.converged]
    assert not failed, line + "\n" + "\n\n".join(failed)
    assert tried == converged == len(points)
