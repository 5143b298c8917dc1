"""Jupyter's versions in a prefix, read from its packages' metadata: the same answer the
prefix's own Python gives, and no answer (so that Python is asked) whenever the layout
leaves a doubt."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from jupyter_bootstrap import jupyter_probe
from jupyter_bootstrap.jupyter_probe import versions_from_metadata


def make_prefix(root: Path, venv: bool = True) -> Path:
    """A prefix whose bin/python looks like an interpreter binary and one site-packages."""
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "python3.11").write_bytes(b"\x7fELF not really")
    (root / "bin" / "python").symlink_to("python3.11")
    (root / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    if venv:
        (root / "pyvenv.cfg").write_text("home = /usr/bin\ninclude-system-site-packages = false\n")
    return root


def add_dist(prefix: Path, name: str, version: str, folder: str = "") -> None:
    info = (
        prefix / "lib" / "python3.11" / "site-packages" / (folder or f"{name}-{version}.dist-info")
    )
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nx")


@pytest.fixture
def prefix(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("PYTHONPATH", "PYTHONHOME", "PYTHONUSERBASE"):
        monkeypatch.delenv(name, raising=False)
    return make_prefix(tmp_path / "env")


def test_the_versions_of_the_installed_packages(prefix: Path) -> None:
    add_dist(prefix, "notebook", "7.2.2")
    add_dist(prefix, "jupyter_server", "2.14.1")
    add_dist(prefix, "notebook_shim", "0.2.4")
    assert versions_from_metadata(prefix) == {
        "jupyter_server": "2.14.1",
        "notebook": "7.2.2",
        "jupyterlab": None,
    }


def test_the_version_is_the_metadata_s_not_the_folder_name_s(prefix: Path) -> None:
    add_dist(prefix, "Jupyter-Server", "2.14.1", folder="Jupyter_Server-9.dist-info")
    assert (versions_from_metadata(prefix) or {})["jupyter_server"] == "2.14.1"


@pytest.mark.parametrize(
    "doubt",
    [
        "wrapper",
        "two pythons",
        "system site",
        "found twice",
        "egg",
        "missing with a pth",
        "path variable",
        "another python's site",
        "version not in the name",
    ],
)
def test_any_doubt_leaves_the_answer_to_the_python(
    prefix: Path, doubt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_dist(prefix, "notebook", "7.2.2")
    site = prefix / "lib" / "python3.11" / "site-packages"
    if doubt == "wrapper":
        (prefix / "bin" / "python3.11").write_text('#!/bin/sh\nexec python3 -S "$@"\n')
    elif doubt == "another python's site":
        # The base Python went from 3.11 to 3.12 under the venv: 3.12 never looks there.
        (prefix / "bin" / "python3.12").write_bytes(b"\x7fELF not really")
        (prefix / "bin" / "python").unlink()
        (prefix / "bin" / "python").symlink_to("python3.12")
    elif doubt == "version not in the name":
        (prefix / "bin" / "python").unlink()
        (prefix / "bin" / "python").write_bytes(b"\x7fELF not really")
    elif doubt == "two pythons":
        (prefix / "lib" / "python3.12" / "site-packages").mkdir(parents=True)
    elif doubt == "system site":
        (prefix / "pyvenv.cfg").write_text("include-system-site-packages = true\n")
    elif doubt == "found twice":
        add_dist(prefix, "notebook", "6.5.7")
    elif doubt == "egg":
        (site / "jupyterlab-4.0.0-py3.11.egg-info").mkdir()
    elif doubt == "missing with a pth":
        (site / "extra.pth").write_text("/somewhere/else\n")
    elif doubt == "path variable":
        monkeypatch.setenv("PYTHONPATH", "/somewhere/else")
    assert versions_from_metadata(prefix) is None


def test_outside_a_venv_the_user_site_leaves_a_doubt(tmp_path: Path, home: Path) -> None:
    prefix = make_prefix(tmp_path / "conda", venv=False)
    add_dist(prefix, "notebook", "7.2.2")
    assert versions_from_metadata(prefix) is not None
    (home / ".local" / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    assert versions_from_metadata(prefix) is None


def test_the_test_environment_reads_as_its_python_says(
    jupyter_prefix: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYTHONPATH", raising=False)
    found = versions_from_metadata(jupyter_prefix)
    if found is None:
        pytest.skip(f"{sys.prefix} is laid out in a way that needs its Python")
    probe = jupyter_probe._versions_from_python(jupyter_prefix / "bin" / "python")
    assert found == probe
