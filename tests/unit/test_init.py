"""init end to end through the CLI (no service): first run, idempotent re-run, settings."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from jupyter_bootstrap import account, jupyter_hash
from jupyter_bootstrap.cli import _build_context
from jupyter_bootstrap.engine import Options, converge
from jupyter_bootstrap.errors import UserError
from jupyter_bootstrap.steps import init_steps
from tests.support.cli import PASSWORD, init_files_only, invoke
from tests.support.report import step_states
from tests.support.tree import snapshot


def first_init(prefix: Path, *extra: str) -> str:
    result = init_files_only(prefix, *extra)
    assert result.exit_code == 0, result.output
    return result.output


def test_first_run_writes_everything_with_the_right_modes(home: Path, jupyter_prefix: Path) -> None:
    output = first_init(jupyter_prefix)
    assert "password     changed" in output
    assert "certificate  changed" in output
    assert "https://" in output and "SHA-256" in output
    assert (home / "certs").stat().st_mode & 0o777 == 0o700
    # The key and the certificate in one file: replaced in one rename, so never mismatched.
    assert (home / "certs" / "mycert.pem").stat().st_mode & 0o777 == 0o600
    assert not (home / "certs" / "mycert.key").exists()
    config = home / ".jupyter" / "jupyter_server_config.py"
    assert config.stat().st_mode & 0o777 == 0o600
    text = config.read_text()
    assert "c.PasswordIdentityProvider.hashed_password = 'argon2:" in text
    assert "c.ServerApp.port_retries = 0" in text
    assert PASSWORD not in text
    assert (home / "Notebooks").is_dir()
    settings = home / ".config" / "jupyter-bootstrap" / "settings.json"
    assert settings.stat().st_mode & 0o777 == 0o600
    assert json.loads(settings.read_text())["prefix"] == str(jupyter_prefix)
    for path in home.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_second_run_changes_nothing(home: Path, jupyter_prefix: Path) -> None:
    first_init(jupyter_prefix)
    before = snapshot(home)
    result = invoke("init", input="")  # no flags, no stdin: settings are reused
    assert result.exit_code == 0, result.output
    states = step_states(result.output)
    checked = ("host", "jupyter", "password", "certificate", "config")
    assert {name: states.get(name) for name in checked} == dict.fromkeys(checked, "ok"), (
        result.output
    )
    assert snapshot(home) == before

    # And no restart is requested when nothing changed.
    ctx = _build_context(None, {}, Options())
    converge(ctx, init_steps(), apply=True)
    assert ctx.run.restart_reasons == []
    assert snapshot(home) == before


def test_flags_are_saved_and_reused(home: Path, jupyter_prefix: Path) -> None:
    first_init(jupyter_prefix, "--port", "9443", "--hostname", "Jupyter.Example.org")
    result = invoke("init")
    assert result.exit_code == 0, result.output
    config = (home / ".jupyter" / "jupyter_server_config.py").read_text()
    assert "c.ServerApp.port = 9443" in config
    assert "https://jupyter.example.org:9443/" in result.output
    # A flag given later overrides and is saved.
    result = invoke("init", "--access", "tunnel")
    assert result.exit_code == 0, result.output
    assert (
        "c.ServerApp.ip = '127.0.0.1'"
        in (home / ".jupyter" / "jupyter_server_config.py").read_text()
    )
    saved = json.loads((home / ".config" / "jupyter-bootstrap" / "settings.json").read_text())
    assert saved["access"] == "tunnel" and saved["port"] == 9443


def test_dry_run_and_status_change_nothing(home: Path, jupyter_prefix: Path) -> None:
    # A given hash is judged, and the verdict is not kept: nothing at all is written.
    given = jupyter_hash.hash_password(PASSWORD)
    result = invoke(
        "init", "--prefix", str(jupyter_prefix), "--no-service", "--dry-run",
        "--password-hash", given,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "would" in result.output
    assert snapshot(home) == {}
    status = invoke("status")
    assert status.exit_code == 3
    assert snapshot(home) == {}


def test_existing_config_is_kept_with_a_backup(home: Path, jupyter_prefix: Path) -> None:
    config = home / ".jupyter" / "jupyter_server_config.py"
    config.parent.mkdir()
    mine = "# my settings\nc.ServerApp.terminals_enabled = False\n"
    config.write_text(mine)
    first_init(jupyter_prefix)
    text = config.read_text()
    assert text.startswith(mine)
    backups = list(config.parent.glob("jupyter_server_config.py.bak-*"))
    assert len(backups) == 1 and backups[0].read_text() == mine


def test_classic_notebook_gets_notebook_config(home: Path, tmp_path: Path) -> None:
    """A prefix whose notebook is 6.x: the NotebookApp file and keys."""
    prefix = tmp_path / "classic"
    site = prefix / "lib" / "site"
    (site / "notebook-6.5.7.dist-info").mkdir(parents=True)
    (site / "notebook-6.5.7.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: notebook\nVersion: 6.5.7\n"
    )
    (prefix / "bin").mkdir()
    import sys

    python = prefix / "bin" / "python"
    python.write_text(f'#!/bin/sh\nPYTHONPATH={site} exec {sys.executable} -S "$@"\n')
    python.chmod(0o755)
    (prefix / "bin" / "jupyter").write_text("#!/bin/sh\nexit 0\n")
    (prefix / "bin" / "jupyter").chmod(0o755)
    first_init(prefix)
    text = (home / ".jupyter" / "jupyter_notebook_config.py").read_text()
    assert "c.NotebookApp.password = 'argon2:" in text
    assert "c.NotebookApp.notebook_dir" in text
    assert not (home / ".jupyter" / "jupyter_server_config.py").exists()


def test_root_is_refused_without_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    with pytest.raises(UserError, match="root"):
        account.resolve(None)
    with pytest.raises(UserError, match="root"):
        account.resolve("root")
    with pytest.raises(UserError, match="no user named"):
        account.resolve("no-such-user-xyz")


def test_unsupported_os_is_refused_unless_forced(
    home: Path, jupyter_prefix: Path, os_release: Path
) -> None:
    os_release.write_text('ID=fedora\nVERSION_ID="40"\nPRETTY_NAME="Fedora Linux 40"\n')
    result = init_files_only(jupyter_prefix)
    assert result.exit_code == 2
    assert "Fedora Linux 40 is not supported" in result.stderr
    assert snapshot(home) == {}
    result = init_files_only(jupyter_prefix, "--force-os")
    assert result.exit_code == 0, result.output
    os_release.write_text('ID=ubuntu\nVERSION_ID="18.04"\nPRETTY_NAME="Ubuntu 18.04"\n')
    assert invoke("status").exit_code == 2
