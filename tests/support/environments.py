"""Stand-in environments for the kernels tests: the few files by which the agent tells a
Python environment with ipykernel (bin/python, site-packages/ipykernel_launcher.py) and a
conda one (conda-meta/) from a venv."""

from __future__ import annotations

from pathlib import Path

SITE_PACKAGES = "lib/python3.11/site-packages"


def make_env(folder: Path, name: str, ipykernel: bool = True, conda: bool = True) -> Path:
    env = folder / name
    (env / "bin").mkdir(parents=True)
    (env / "bin" / "python").write_text("#!/bin/sh\n")
    (env / "bin" / "python").chmod(0o755)
    (env / SITE_PACKAGES).mkdir(parents=True)
    if conda:
        (env / "conda-meta").mkdir()
        (env / "conda-meta" / "history").write_text("==> 2026-12-01 <==\n")
    else:
        (env / "pyvenv.cfg").write_text("home = /usr/bin\n")
    if ipykernel:
        add_ipykernel(env)
    return env


def add_ipykernel(env: Path) -> None:
    (env / SITE_PACKAGES / "ipykernel_launcher.py").write_text("# stand-in\n")
