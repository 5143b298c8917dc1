"""The release workflow's own shell steps, run here with bash as GitHub would run them: the
checks before anything is published, and which release becomes the one the installer's
`latest` address serves. (The upload itself can only happen on GitHub.)"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

import jupyter_bootstrap
from tests.support.install_script import with_repository

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "release.yml"
VERSION = jupyter_bootstrap.__version__
OURS = "example-org/jupyter-bootstrap"


def workflow() -> Any:
    return yaml.safe_load(WORKFLOW.read_text())


def step(job: str, name: str) -> str:
    found = [s for s in workflow()["jobs"][job]["steps"] if s.get("name", "").startswith(name)]
    assert len(found) == 1, name
    return str(found[0]["run"])


def run_step(script: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    # As GitHub runs a step: bash -e with the job's variables.
    return subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=cwd,
        env={**os.environ, "GITHUB_SERVER_URL": "https://github.com", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_only_final_version_tags_start_it() -> None:
    # PyYAML reads the key `on` as True.
    trigger = workflow()[True]
    assert trigger == {"push": {"tags": ["v[0-9]+.[0-9]+.[0-9]+"]}}


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    (tmp_path / "agent" / "jupyter_bootstrap").mkdir(parents=True)
    shutil.copy(
        REPO / "agent" / "jupyter_bootstrap" / "__init__.py",
        tmp_path / "agent" / "jupyter_bootstrap",
    )
    (tmp_path / "install.sh").write_bytes(with_repository(f"https://github.com/{OURS}"))
    return tmp_path


@pytest.mark.parametrize(
    ("tag", "repository", "installer", "passes"),
    [
        pytest.param(f"v{VERSION}", OURS, "set", True, id="all agree"),
        pytest.param("v99.0.0", OURS, "set", False, id="tag without the version bump"),
        pytest.param(f"v{VERSION}", "someone/jupyter-bootstrap", "set", False, id="a fork"),
        pytest.param(f"v{VERSION}", OURS, "placeholder", False, id="JB_REPOSITORY not set"),
    ],
)
def test_nothing_is_published_unless_tag_package_and_installer_agree(
    checkout: Path, tag: str, repository: str, installer: str, passes: bool
) -> None:
    if installer == "placeholder":
        shutil.copy(REPO / "install.sh", checkout / "install.sh")
    script = step("build", "The tag, the package and install.sh")
    ran = run_step(script, checkout, GITHUB_REF_NAME=tag, GITHUB_REPOSITORY=repository)
    assert (ran.returncode == 0) is passes, ran.stdout + ran.stderr
    if not passes:
        assert "::error::" in ran.stdout


@pytest.mark.parametrize(
    ("tag", "tags", "latest"),
    [
        pytest.param("v0.2.0", ("v0.1.0", "v0.1.1"), "true", id="the newest"),
        pytest.param("v0.1.1", ("v0.1.0", "v0.2.0"), "false", id="a fix on an older line"),
        pytest.param("v0.10.0", ("v0.2.0", "v0.9.0"), "true", id="by version, not by text"),
        pytest.param("v1.3.0", ("v1.2.0", "v1.3.0-rc1"), "true", id="after its own rc tag"),
    ],
)
def test_only_the_highest_version_becomes_latest(
    tmp_path: Path, tag: str, tags: tuple[str, ...], latest: str
) -> None:
    """A fix on an older line must not move the installer's `latest` address back."""
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-C", str(tmp_path)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    for name in (*tags, tag):
        subprocess.run([*git, "tag", name], check=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$GH_ARGS"\n')
    (bin_dir / "gh").chmod(0o755)
    script = step("github-release", "The GitHub release")
    ran = run_step(
        script,
        tmp_path,
        GITHUB_REF_NAME=tag,
        GITHUB_REPOSITORY=OURS,
        GH_ARGS=str(tmp_path / "gh-args"),
        PATH=f"{bin_dir}:{os.environ['PATH']}",
    )
    assert ran.returncode == 0, ran.stderr
    args = (tmp_path / "gh-args").read_text().splitlines()
    assert args[:3] == ["release", "create", tag]
    assert f"--latest={latest}" in args
