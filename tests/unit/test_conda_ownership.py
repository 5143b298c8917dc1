"""What the agent installed is its own, and only that: an install it started and a kill cut
short is removed and installed again by the next run (the record proves it started it, the
prefix holds nothing an installer does not make); a conda it only found, or a half-made
prefix with someone's files in it, is never touched, not even by `uninstall --purge`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from jupyter_bootstrap import conda, installed, kill_points
from jupyter_bootstrap.conda import PrefixState
from tests.support.cli import flat, init_no_service, invoke, without_spaces
from tests.support.fake_installer import FakeInstaller, InstallerSite
from tests.support.tree import snapshot


def state_dir(home: Path) -> Path:
    return home / ".local" / "state" / "jupyter-bootstrap"


def record_of(home: Path, prefix: Path) -> dict[str, object]:
    data = json.loads((state_dir(home) / "installed.json").read_text())
    assert data["schema_version"] == installed.SCHEMA_VERSION
    entry: dict[str, object] = data["conda"][str(prefix)]
    return entry


def killed_half_way(site: InstallerSite, prefix: Path) -> None:
    """A first run whose installer died after creating the prefix (the failing installer
    stands in for the kill), then what unpacking had written by then."""
    url, digest, _ = site.publish("/dl/Miniforge3-killed.sh", distribution="miniforge", fail=True)
    first = init_no_service(
        "--prefix", str(prefix), "--installer-url", url, "--installer-sha256", digest
    )
    assert first.exit_code == 1, first.output
    (prefix / "pkgs").mkdir()
    (prefix / "pkgs" / "fake-package-1-1.0-0.conda").write_bytes(b"half of it")
    (prefix / "bin").mkdir()
    assert conda.inspect_prefix(prefix, "chosen", "miniforge").state is PrefixState.FOREIGN


def good_installer(site: InstallerSite) -> tuple[str, ...]:
    url, digest, _ = site.publish("/dl/Miniforge3-good.sh", distribution="miniforge", seed=1)
    return ("--installer-url", url, "--installer-sha256", digest)


def test_an_install_cut_short_is_removed_and_installed_again(
    site: InstallerSite, home: Path
) -> None:
    prefix = site.prefix("miniforge3")
    killed_half_way(site, prefix)
    started = record_of(home, prefix)
    assert (started["status"], started["installer"], started["by"]) == (
        "installing",
        "Miniforge3-killed.sh",
        "jupyter-bootstrap",
    )

    status = invoke("status")
    assert status.exit_code == 3, status.output
    assert without_spaces("an install by jupyter-bootstrap that did not finish") in (
        without_spaces(status.output)
    )
    again = init_no_service(*good_installer(site))
    assert again.exit_code == 0, again.output
    assert without_spaces(
        f"Removing what the interrupted install (Miniforge3-killed.sh, started "
        f"{started['started']}) left in {prefix}"
    ) in without_spaces(again.output)
    assert "conda changed reinstalled Miniforge" in flat(again.output)
    # Both runs installed into a prefix that did not exist (no -u): the leftovers are gone.
    assert site.runs() == [f"-b -p {prefix}", f"-b -p {prefix}"]
    assert not (prefix / "pkgs" / "fake-package-1-1.0-0.conda").exists()
    done = record_of(home, prefix)
    assert (done["status"], done["installer"]) == ("installed", "Miniforge3-good.sh")
    assert invoke("status").exit_code == 0


def test_a_half_made_prefix_with_someones_files_in_it_is_never_touched(
    site: InstallerSite, home: Path
) -> None:
    prefix = site.prefix("miniforge3")
    killed_half_way(site, prefix)
    (prefix / "thesis.tex").write_text("precious")
    before = snapshot(prefix)
    result = init_no_service(*good_installer(site))
    assert result.exit_code == 2, result.output
    assert "thesis.tex, which no conda installer makes" in flat(result.stderr)
    assert "left untouched" in flat(result.stderr)
    assert snapshot(prefix) == before
    assert len(site.runs()) == 1


def test_a_half_made_prefix_the_agent_did_not_start_is_never_touched(
    site: InstallerSite, home: Path
) -> None:
    prefix = site.prefix("miniforge3")
    (prefix / "pkgs").mkdir(parents=True)
    (prefix / "bin").mkdir()
    before = snapshot(prefix)
    result = init_no_service("--prefix", str(prefix), *good_installer(site))
    assert result.exit_code == 2, result.output
    assert without_spaces(f"{prefix} exists and is not a conda install") in without_spaces(
        result.stderr
    )
    assert snapshot(prefix) == before
    assert site.runs() == []


# --------------------------------------------------------------------------- uninstall --purge


def test_purge_removes_the_conda_the_agent_installed(site: InstallerSite, home: Path) -> None:
    site.publish_default("miniforge")
    prefix = home / "miniforge3"
    assert init_no_service("--distribution", "miniforge").exit_code == 0
    assert record_of(home, prefix)["status"] == "installed"
    result = invoke("uninstall", "--yes", "--purge")
    assert result.exit_code == 0, result.output
    assert "installed by jupyter-bootstrap" in flat(result.output)
    assert not prefix.exists()


def test_purge_keeps_a_conda_the_agent_only_found(site: InstallerSite, home: Path) -> None:
    prefix = home / "miniforge3"
    script = home / "Miniforge3-by-hand.sh"
    script.write_bytes(FakeInstaller(distribution="miniforge", payload_size=0).build())
    subprocess.run(["bash", str(script), "-b", "-p", str(prefix)], check=True, capture_output=True)
    env = prefix / "envs" / "thesis"
    (env / "conda-meta").mkdir(parents=True)
    (env / "conda-meta" / "history").write_text("# the user's environment\n")
    setup = init_no_service("--distribution", "miniforge")
    assert setup.exit_code == 0, setup.output
    assert "conda ok Miniforge" in flat(setup.output)  # found, used as it is
    before = snapshot(env)

    result = invoke("uninstall", "--yes", "--purge")
    assert result.exit_code == 0, result.output
    assert f"{prefix}: found, not installed by jupyter-bootstrap: delete it yourself" in flat(
        result.output
    )
    assert (prefix / "bin" / "conda").exists()
    assert snapshot(env) == before


# --------------------------------------------------------------------------- the hook


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("conda:apply", False),
        ("conda:apply:group", True),
        ("config:apply", None),
        ("conda:app", None),
    ],
)
def test_which_kill_point_is_armed(value: object, expected: object) -> None:
    environ = {} if value is None else {kill_points.ENV: str(value)}
    assert kill_points.armed_for("conda:apply", environ) is expected


def test_an_unarmed_kill_point_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(kill_points.ENV, raising=False)
    kill_points.reached("conda:apply")
    ran = []
    with kill_points.while_running("conda:installer-running", lambda: True):
        ran.append(True)
    assert ran == [True]


# --------------------------------------------------------------------------- the record


def test_the_record_owns_less_when_in_doubt(tmp_path: Path) -> None:
    prefix = tmp_path / "miniforge3"
    record = installed.CondaRecord(prefix, installed.INSTALLING, "M.sh", "2026-12-01T10:00:00Z")
    installed.record_conda(tmp_path, record)
    assert installed.conda_record(tmp_path, prefix) == record
    assert (tmp_path / "installed.json").stat().st_mode & 0o777 == 0o600
    other = installed.CondaRecord(tmp_path / "other", installed.INSTALLED, "O.sh", "t0", "t1")
    installed.record_conda(tmp_path, other)  # one prefix's record leaves the others alone
    assert set(installed.conda_records(tmp_path)) == {prefix, tmp_path / "other"}

    path = tmp_path / "installed.json"
    for unreadable in ("{not json", "[]", json.dumps({"schema_version": 99, "conda": {}})):
        path.write_text(unreadable)
        assert installed.conda_records(tmp_path) == {}
    entry = {"status": "installed", "by": "someone else", "installer": "x", "started": "t"}
    path.write_text(json.dumps({"schema_version": 1, "conda": {str(prefix): entry}}))
    assert installed.conda_records(tmp_path) == {}


def test_what_an_installer_leaves_and_what_it_does_not(tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    prefix.mkdir()
    assert conda.strangers(prefix) == ()
    for name in ("bin", "pkgs", "conda-meta", "_conda", "x86_64-conda-linux-gnu", ".condarc"):
        (prefix / name).mkdir()
    assert conda.strangers(prefix) == ()
    (prefix / "notes.txt").write_text("mine")
    (prefix / "data").mkdir()
    assert conda.strangers(prefix) == ("data", "notes.txt")
    (tmp_path / "file").write_text("x")
    assert conda.strangers(tmp_path / "file") is None
    assert conda.strangers(tmp_path / "absent") is None
    (tmp_path / "link").symlink_to(prefix)
    assert conda.strangers(tmp_path / "link") is None
