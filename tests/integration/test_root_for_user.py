"""cloud-init runs as root: `init --user NAME` must leave nothing root-owned in NAME's home
(a root-owned ~/.local or ~/.jupyter breaks the user's own tools and later runs)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.report import step_states
from tests.support.require import skip_or_fail

pytestmark = pytest.mark.integration


@pytest.fixture
def login_user() -> Iterator[pwd.struct_passwd]:
    if os.geteuid() != 0:
        skip_or_fail("creating a throw-away login user needs root")
    if shutil.which("useradd") is None:
        skip_or_fail("useradd is not installed")
    name = f"jb{uuid.uuid4().hex[:8]}"
    base = Path(tempfile.mkdtemp(prefix="jb-user-"))
    base.chmod(0o755)
    home = base / name
    subprocess.run(
        ["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/bash", name],
        check=True,
    )
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", name], check=False)
        shutil.rmtree(base, ignore_errors=True)


def agent(*args: str, env: dict[str, str], stdin: str = "") -> str:
    argv = [sys.executable, "-m", "jupyter_bootstrap", *args]
    result = subprocess.run(
        argv, input=stdin, capture_output=True, text=True, env={**os.environ, **env}, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_root_sets_up_for_the_user_and_leaves_nothing_root_owned(
    login_user: pwd.struct_passwd,
) -> None:
    home = Path(login_user.pw_dir)
    prefix = Path(sys.prefix)
    quiet = {"JUPYTER_BOOTSTRAP_METADATA_URL": "off"}
    agent(
        "init", "--user", login_user.pw_name, "--prefix", str(prefix), "--no-service",
        "--password-stdin", "--force-os",
        env={**quiet, "HOME": "/root"}, stdin="cloud-init password\n",
    )  # fmt: skip
    made = [p for p in home.rglob("*") if not p.name.startswith(".bash")]
    assert any(p.name == "mycert.pem" for p in made)
    assert any(p.name == "jupyter-bootstrap.log" for p in made)
    not_theirs = [str(p) for p in made if p.lstat().st_uid != login_user.pw_uid]
    assert not_theirs == []
    modes = {p.name: p.stat().st_mode & 0o777 for p in made}
    assert modes["mycert.pem"] == 0o600 and modes["jupyter_server_config.py"] == 0o600
    # A later run by cloud-init again (no flags but --user) finds everything in place.
    rerun = agent(
        "init", "--user", login_user.pw_name, "--force-os", env={**quiet, "HOME": "/root"}
    )
    steps = step_states(rerun)
    assert steps["password"] == steps["certificate"] == steps["config"] == "ok", rerun
