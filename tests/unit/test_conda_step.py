"""The conda step: what a prefix is, where conda is found, and `init` installing it from a
loopback server that drops, ignores Range, lies about the hash, or is never asked because
the directory is someone else's."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_bootstrap import conda
from jupyter_bootstrap.conda import PrefixState
from jupyter_bootstrap.conda_installers import default_filename
from jupyter_bootstrap.paths import Paths
from jupyter_bootstrap.settings import Settings
from tests.support.cli import PASSWORD, flat, init_no_service, invoke, without_spaces
from tests.support.fake_installer import (
    ARCH,
    FakeInstaller,
    InstallerSite,
    conda_commands,
    hide_host_conda,
)
from tests.support.installer_server import Behaviour
from tests.support.require import skip_or_fail
from tests.support.tree import snapshot

MiB = 1024 * 1024


def downloads(home: Path) -> Path:
    return home / ".cache" / "jupyter-bootstrap" / "downloads"


def install_fake(prefix: Path, **options: object) -> None:
    script = prefix.parent / f".{prefix.name}-installer.sh"
    prefix.parent.mkdir(parents=True, exist_ok=True)
    script.write_bytes(FakeInstaller(payload_size=0, **options).build())  # type: ignore[arg-type]
    subprocess.run(["bash", str(script), "-b", "-p", str(prefix)], check=True, capture_output=True)


def inspect(prefix: Path) -> conda.CondaInstall:
    return conda.inspect_prefix(prefix, "chosen", "miniconda")


# --------------------------------------------------------------------------- what a prefix is


def test_states_of_a_prefix(tmp_path: Path) -> None:
    assert inspect(tmp_path / "none").state is PrefixState.ABSENT
    (tmp_path / "empty").mkdir()
    assert inspect(tmp_path / "empty").state is PrefixState.EMPTY
    (tmp_path / "file").write_text("x")
    assert inspect(tmp_path / "file").state is PrefixState.FOREIGN
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_text("x")
    assert inspect(tmp_path / "photos").state is PrefixState.FOREIGN
    env = tmp_path / "env"
    (env / "conda-meta").mkdir(parents=True)
    (env / "conda-meta" / "history").write_text("")
    assert inspect(env).state is PrefixState.CONDA_ENV
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(shutil.which("python3") or "/usr/bin/python3")
    (venv / "bin" / "jupyter").write_text("#!/bin/sh\n")
    assert inspect(venv).state is PrefixState.OTHER_JUPYTER


def test_a_working_install_and_the_ways_it_breaks(tmp_path: Path) -> None:
    prefix = tmp_path / "miniconda3"
    install_fake(prefix, conda_version="25.7.0")
    found = inspect(prefix)
    assert (found.state, found.conda_version, found.distribution) == (
        PrefixState.READY,
        "25.7.0",
        "miniconda",
    )
    assert found.describe() == f"Miniconda (conda 25.7.0) in {prefix}"

    (prefix / "bin" / "conda").write_text("#!/bin/sh\necho 'ImportError: no conda' >&2\nexit 1\n")
    broken = inspect(prefix)
    assert broken.state is PrefixState.BROKEN
    assert "`conda --version` fails (ImportError: no conda)" in broken.problem

    (prefix / "bin" / "conda").unlink()
    assert inspect(prefix).problem == "bin/conda is missing"  # conda's record says base

    install_fake(tmp_path / "other")
    (tmp_path / "other" / "bin" / "python").unlink()
    assert inspect(tmp_path / "other").problem == "bin/python is missing"
    (tmp_path / "other" / "bin" / "python").write_text("#!/bin/sh\nexit 3\n")
    (tmp_path / "other" / "bin" / "python").chmod(0o755)
    assert inspect(tmp_path / "other").problem.startswith("bin/python does not run")


def test_which_distribution_made_a_prefix(tmp_path: Path) -> None:
    for distribution, label in (
        ("anaconda", "Anaconda 2024.10"),
        ("miniconda", "Miniconda"),
        ("miniforge", "Miniforge"),
    ):
        install_fake(tmp_path / distribution, distribution=distribution)
        found = inspect(tmp_path / distribution)
        assert (found.distribution, found.label) == (distribution, label)
        assert found.conda_forge == (distribution == "miniforge")


def test_where_conda_is_looked_for(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hide_host_conda(monkeypatch)
    paths = Paths(home)
    settings = Settings()
    assert conda.locate(settings, paths, os.environ).prefix == home / "anaconda3"
    assert conda.locate(Settings(distribution="miniforge"), paths, os.environ).prefix == (
        home / "miniforge3"
    )

    install_fake(home / "miniconda3")
    found = conda.locate(settings, paths, os.environ)
    assert (found.prefix, found.found_by) == (home / "miniconda3", "found")

    install_fake(tmp_path / "on-path")
    monkeypatch.setenv("PATH", f"{tmp_path / 'on-path' / 'bin'}:{os.environ['PATH']}")
    found = conda.locate(settings, paths, os.environ)
    assert (found.prefix, found.found_by) == (tmp_path / "on-path", "conda on PATH")

    install_fake(tmp_path / "exe")
    monkeypatch.setenv("CONDA_EXE", str(tmp_path / "exe" / "bin" / "conda"))
    found = conda.locate(settings, paths, os.environ)
    assert (found.prefix, found.found_by) == (tmp_path / "exe", "$CONDA_EXE")

    # A chosen prefix is the only candidate, whatever it holds.
    chosen = Settings(prefix=str(tmp_path / "mine"))
    assert conda.locate(chosen, paths, os.environ).state is PrefixState.ABSENT


# --------------------------------------------------------------------------- init installs


def test_fresh_miniforge_install_asks_nothing_and_uses_conda_forge(
    site: InstallerSite, home: Path
) -> None:
    site.publish_default("miniforge")
    prefix = site.prefix("miniforge3")
    result = init_no_service("--distribution", "miniforge", "--prefix", str(prefix))
    assert result.exit_code == 0, result.output
    assert "conda changed installed Miniforge (conda 24.9.2)" in flat(result.output)
    assert "sha256 verified" in flat(result.output)
    assert site.runs() == [f"-b -p {prefix}"]
    [install] = [c for c in conda_commands(prefix) if c["command"] == "install"]
    assert install["channels"] == ["conda-forge"] and install["override"] is True
    assert not install["auto_accept_tos"]
    assert list(downloads(home).iterdir()) == []  # the installer is deleted after success
    # The progress went to the output as lines (no terminal here), ending with "done".
    assert f"{default_filename('miniforge', ARCH)}: done" in result.output


def test_keep_installer_then_a_reinstall_reuses_the_cached_file(
    site: InstallerSite, home: Path
) -> None:
    url, digest, data = site.publish("/dl/Miniforge3-test.sh", distribution="miniforge")
    prefix = site.prefix("miniforge3")
    given = ("--prefix", str(prefix), "--installer-url", url, "--installer-sha256", digest)
    first = init_no_service(*given, "--keep-installer")
    assert first.exit_code == 0, first.output
    cached = downloads(home) / "Miniforge3-test.sh"
    assert cached.read_bytes() == data
    assert site.gets() == 1

    shutil.rmtree(prefix)
    drift = invoke("status")
    assert drift.exit_code == 3
    assert without_spaces(f"no conda in {prefix}") in without_spaces(drift.output)
    again = init_no_service()
    assert again.exit_code == 0, again.output
    assert site.gets() == 1  # nothing downloaded: the verified file in the cache was used
    assert "from the cache" in again.output
    assert site.runs() == [f"-b -p {prefix}", f"-b -p {prefix}"]
    assert not cached.exists()  # this run did not ask to keep it


def test_an_interrupted_download_resumes_where_it_stopped(site: InstallerSite, home: Path) -> None:
    """A run killed half-way left a .part; the next run fetches only the rest."""
    url, digest, data = site.publish("/dl/Miniforge3-big.sh", distribution="miniforge")
    partial = downloads(home) / "Miniforge3-big.sh.part"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(data[: MiB + 123])
    result = init_no_service(
        "--prefix", str(site.prefix()), "--installer-url", url, "--installer-sha256", digest
    )
    assert result.exit_code == 0, result.output
    [get] = site.server.requests("/dl/Miniforge3-big.sh", method="GET")
    assert get.range == f"bytes={MiB + 123}-"
    assert site.server.bytes_sent("/dl/Miniforge3-big.sh") == len(data) - MiB - 123
    assert "resuming at" in result.output


def test_a_dropped_connection_is_resumed_within_the_run(site: InstallerSite) -> None:
    url, digest, data = site.publish(
        "/dl/Miniforge3-flaky.sh", Behaviour(drop_after=MiB), distribution="miniforge"
    )
    result = init_no_service(
        "--prefix", str(site.prefix()), "--installer-url", url, "--installer-sha256", digest
    )
    assert result.exit_code == 0, result.output
    gets = site.server.requests("/dl/Miniforge3-flaky.sh", method="GET")
    assert [g.range for g in gets] == [None, f"bytes={MiB}-"]
    assert site.server.bytes_sent("/dl/Miniforge3-flaky.sh") == len(data)  # no byte twice


def test_a_server_ignoring_range_still_gives_a_correct_file(
    site: InstallerSite, home: Path
) -> None:
    url, digest, data = site.publish(
        "/dl/Miniforge3-norange.sh", Behaviour(honour_range=False), distribution="miniforge"
    )
    partial = downloads(home) / "Miniforge3-norange.sh.part"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(data[:MiB])
    prefix = site.prefix()
    result = init_no_service(
        "--prefix", str(prefix), "--installer-url", url, "--installer-sha256", digest
    )
    assert result.exit_code == 0, result.output
    [get] = site.server.requests("/dl/Miniforge3-norange.sh", method="GET")
    assert get.range == f"bytes={MiB}-" and get.status == 200
    assert site.server.bytes_sent("/dl/Miniforge3-norange.sh") == len(data)
    assert site.runs() == [f"-b -p {prefix}"]  # the whole, verified file was installed


def test_a_wrong_hash_fails_closed_and_installs_nothing(site: InstallerSite, home: Path) -> None:
    url, digest, data = site.publish(
        "/dl/Miniforge3-bad.sh", Behaviour(corrupt_at=100_000), distribution="miniforge"
    )
    prefix = site.prefix()
    result = init_no_service(
        "--prefix", str(prefix), "--installer-url", url, "--installer-sha256", digest
    )
    assert result.exit_code == 1, result.output
    assert f"expected sha256: {digest}" in result.output
    corrupted = bytearray(data)
    corrupted[100_000] ^= 0xFF
    assert f"actual sha256:   {hashlib.sha256(corrupted).hexdigest()}" in result.output
    assert not prefix.exists()
    assert site.runs() == []
    assert list(downloads(home).iterdir()) == []  # neither the file nor a .part is kept


def test_the_pinned_anaconda_hash_is_enforced_on_a_mirror(site: InstallerSite) -> None:
    """Our fake served under the real Anaconda name is not the real file: refused."""
    site.publish_default("anaconda")
    result = init_no_service("--prefix", str(site.prefix("anaconda3")))
    assert result.exit_code == 1, result.output
    assert "expected sha256: 3ba0a298155c32fbfd80cbc238298560bf69a2df511783054adfc151b76d80d8" in (
        result.output
    )
    assert site.runs() == []


def test_no_hash_at_the_publisher_means_no_download(site: InstallerSite) -> None:
    name = default_filename("miniforge", ARCH)
    site.publish(f"/miniforge/{name}", distribution="miniforge")  # but no .sha256 beside it
    result = init_no_service("--distribution", "miniforge", "--prefix", str(site.prefix()))
    assert result.exit_code == 1, result.output
    assert without_spaces("refusing to install an unverified file") in without_spaces(result.output)
    assert site.gets() == 0
    assert site.runs() == []


def test_a_foreign_directory_at_the_prefix_is_never_touched(
    site: InstallerSite, tmp_path: Path
) -> None:
    site.publish_default("miniforge")
    prefix = tmp_path / "data"
    (prefix / "thesis").mkdir(parents=True)
    (prefix / "thesis" / "chapter1.tex").write_text("precious")
    before = snapshot(prefix)
    result = init_no_service("--distribution", "miniforge", "--prefix", str(prefix))
    assert result.exit_code == 2, result.output
    assert without_spaces(f"{prefix} exists and is not a conda install") in without_spaces(
        result.stderr
    )
    assert "leftuntouched" in without_spaces(result.stderr)
    assert snapshot(prefix) == before
    assert site.server.requests() == []
    assert site.runs() == []


def test_a_broken_install_is_repaired_with_u(site: InstallerSite) -> None:
    site.publish_default("miniforge")
    prefix = site.prefix("miniforge3")
    assert init_no_service("--distribution", "miniforge", "--prefix", str(prefix)).exit_code == 0
    (prefix / "my-notes.txt").write_text("kept")
    (prefix / "bin" / "python").unlink()

    status = invoke("status")
    assert status.exit_code == 3
    assert "broken:bin/pythonismissing" in without_spaces(status.output)
    repair = invoke("init")
    assert repair.exit_code == 0, repair.output
    assert "conda changed repaired Miniforge" in flat(repair.output)
    assert site.runs() == [f"-b -p {prefix}", f"-b -p {prefix} -u"]
    assert (prefix / "my-notes.txt").read_text() == "kept"
    # notebook survived the repair: conda did not have to install it again.
    assert [c["command"] for c in conda_commands(prefix)].count("install") == 1
    assert invoke("status").exit_code == 0


def test_an_empty_directory_is_installed_into_with_u(site: InstallerSite) -> None:
    site.publish_default("miniforge")
    prefix = site.prefix("miniforge3")
    prefix.mkdir(parents=True)
    result = init_no_service("--distribution", "miniforge", "--prefix", str(prefix))
    assert result.exit_code == 0, result.output
    assert site.runs() == [f"-b -p {prefix} -u"]


def test_a_failing_installer_shows_its_last_lines_and_keeps_the_download(
    site: InstallerSite, home: Path
) -> None:
    url, digest, _ = site.publish("/dl/Miniforge3-fail.sh", distribution="miniforge", fail=True)
    prefix = site.prefix()
    result = init_no_service(
        "--prefix", str(prefix), "--installer-url", url, "--installer-sha256", digest
    )
    assert result.exit_code == 1, result.output
    shown = [line for line in result.output.splitlines() if line.startswith("  | ")]
    assert len(shown) == 20
    assert shown[-1] == "  | CondaError: [Errno 28] No space left on device"
    assert (downloads(home) / "Miniforge3-fail.sh").exists()  # the next run need not fetch


# --------------------------------------------------------------------------- flags


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--installer-url", "http://127.0.0.1:9/a.sh"],
            "--installer-url needs --installer-sha256",
        ),
        (["--installer-sha256", "a" * 64], "--installer-sha256 needs --installer-url"),
        (
            ["--installer-url", "http://127.0.0.1:9/a.sh", "--installer-sha256", "abc"],
            "is not a SHA-256",
        ),
        (
            ["--installer-url", "file:///tmp/a.sh", "--installer-sha256", "a" * 64],
            "is not an http(s) URL",
        ),
    ],
)
def test_installer_flags_are_checked_before_anything_happens(
    site: InstallerSite, home: Path, flags: list[str], message: str
) -> None:
    result = init_no_service("--prefix", str(site.prefix()), *flags)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert "Traceback" not in result.output
    assert snapshot(home) == {}


# --------------------------------------------------------------------------- disk space


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MiB file system: far too small for any conda."""
    if os.geteuid() != 0:
        skip_or_fail("mounting a small tmpfs for the disk-space test needs root")
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m,mode=0755", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        skip_or_fail(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


def test_not_enough_disk_space_is_refused_before_downloading(
    site: InstallerSite, small_disk: Path
) -> None:
    site.publish_default("miniforge")
    prefix = small_disk / "miniforge3"
    result = init_no_service("--distribution", "miniforge", "--prefix", str(prefix))
    assert result.exit_code == 2, result.output
    assert "not enough disk space" in result.stderr
    assert f"installing into {prefix}" in flat(result.stderr)
    assert site.server.requests(method="GET") == []  # not even the hash was fetched
    assert not prefix.exists()


# --------------------------------------------------------------------------- Anaconda's terms


def test_miniconda_without_a_terminal_needs_the_tos_flag_before_any_download(
    site: InstallerSite, home: Path
) -> None:
    site.publish_default("miniconda")
    prefix = site.prefix()
    result = init_no_service("--distribution", "miniconda", "--prefix", str(prefix))
    assert result.exit_code == 2, result.output
    assert "--accept-anaconda-tos" in result.stderr
    assert "miniforge" in result.stderr  # the free alternative is named
    assert site.server.requests() == []
    assert not prefix.exists()


def test_on_a_terminal_the_terms_are_asked_once_and_the_answer_saved(
    site: InstallerSite, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_bootstrap import cli

    monkeypatch.setattr(cli, "_stdin_is_tty", lambda: True)
    site.publish_default("miniconda")
    prefix = site.prefix()
    choose = ("--distribution", "miniconda", "--prefix", str(prefix))
    # The questions come in step order: the terms (jupyter) before the password.
    refused = init_no_service(*choose, input="n\n")
    assert refused.exit_code == 2, refused.output
    assert "200 people" in refused.output  # what is being accepted is said
    assert "not accepted: nothing was installed" in refused.stderr
    assert site.server.requests() == [] and not prefix.exists()

    accepted = init_no_service(*choose, input=f"y\n{PASSWORD}\n")
    assert accepted.exit_code == 0, accepted.output
    settings = json.loads((home / ".config" / "jupyter-bootstrap" / "settings.json").read_text())
    assert settings["accept_anaconda_tos"] is True
    commands = conda_commands(prefix)
    accepts = [c["channels"] for c in commands if c["command"] == "tos accept"]
    assert accepts == [
        ["https://repo.anaconda.com/pkgs/main"],
        ["https://repo.anaconda.com/pkgs/r"],
    ]
    assert [c["packages"] for c in commands if c["command"] == "install"] == [["notebook"]]


def test_the_terms_are_asked_first_for_a_conda_found_without_jupyter(
    site: InstallerSite, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Miniconda already there (so --skip conda): the terms are still asked in the
    preflight, not discovered half-way through the run."""
    from jupyter_bootstrap import cli

    monkeypatch.setattr(cli, "_stdin_is_tty", lambda: True)
    installer = tmp_path / "Miniconda3.sh"
    installer.write_bytes(FakeInstaller(distribution="miniconda").build())
    prefix = site.prefix()
    subprocess.run(["bash", str(installer), "-b", "-p", str(prefix)], check=True)
    flags = ("--skip", "conda", "--prefix", str(prefix))
    accepted = init_no_service(*flags, input=f"y\n{PASSWORD}\n")
    assert accepted.exit_code == 0, accepted.output
    assert "200 people" in accepted.output
    commands = conda_commands(prefix)
    assert [c["packages"] for c in commands if c["command"] == "install"] == [["notebook"]]


def test_an_old_conda_without_the_tos_command_still_installs_jupyter(site: InstallerSite) -> None:
    site.publish_default("miniconda", has_tos=False)
    prefix = site.prefix()
    result = init_no_service(
        "--distribution", "miniconda", "--prefix", str(prefix), "--accept-anaconda-tos"
    )
    assert result.exit_code == 0, result.output
    commands = conda_commands(prefix)
    assert [c["command"] for c in commands] == ["init", "install"]


def test_jupyterlab_is_added_when_the_app_is_lab(site: InstallerSite) -> None:
    site.publish_default("miniforge")
    prefix = site.prefix("miniforge3")
    result = init_no_service("--distribution", "miniforge", "--prefix", str(prefix), "--app", "lab")
    assert result.exit_code == 0, result.output
    [install] = [c for c in conda_commands(prefix) if c["command"] == "install"]
    assert install["packages"] == ["notebook", "jupyterlab"]


def test_conda_runs_as_the_login_user_when_root_acts_for_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from jupyter_bootstrap.account import Account

    ubuntu = Account("ubuntu", 1000, 1000, tmp_path)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert conda.as_account(ubuntu, ["bash", "x.sh"]) == [
        "runuser",
        "-u",
        "ubuntu",
        "--",
        "bash",
        "x.sh",
    ]
    assert conda.account_env(ubuntu)["HOME"] == str(tmp_path)  # conda init edits their bashrc
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert conda.as_account(ubuntu, ["bash", "x.sh"]) == ["bash", "x.sh"]
