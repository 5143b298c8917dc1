"""Anaconda's terms of service: needed before conda may install packages from Anaconda's
default channels non-interactively (since mid-2025 it refuses with
CondaToSNonInteractiveError otherwise). Asked once, saved, and said plainly."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import click

from jupyter_bootstrap import conda
from jupyter_bootstrap.console import Console
from jupyter_bootstrap.errors import UserError
from jupyter_bootstrap.run import run

if TYPE_CHECKING:
    from jupyter_bootstrap.account import Account
    from jupyter_bootstrap.facts import Facts
    from jupyter_bootstrap.settings import Settings

log = logging.getLogger("jupyter_bootstrap")

DEFAULT_CHANNELS = ("https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r")
TERMS_URL = "https://www.anaconda.com/legal/terms/terms-of-service"
# Accepts for this one command; also what makes a conda without the `tos` command happy.
AUTO_ACCEPT_ENV = {"CONDA_PLUGINS_AUTO_ACCEPT_TOS": "yes"}

EXPLANATION = (
    "Installing Jupyter into {prefix} downloads packages from Anaconda's default channels "
    "(repo.anaconda.com/pkgs/main and /r). Anaconda requires accepting its terms of "
    f"service for that ({TERMS_URL}): organisations with more than 200 people need a paid "
    "licence. Miniforge (conda-forge) is the free alternative: --distribution miniforge."
)


def needed(facts: Facts, settings: Settings) -> bool:
    """Whether this run will ask conda for packages from Anaconda's channels: a prefix of
    Anaconda's family (Miniconda; an Anaconda without JupyterLab) that lacks Jupyter."""
    found = facts.conda
    if found is None or found.conda_forge:
        return False
    wanted = {"notebook", "jupyterlab"} if settings.app == "lab" else {"notebook"}
    state = found.state
    if state is conda.PrefixState.READY:
        jupyter = facts.jupyter
        have = set()
        if jupyter is not None:
            have = {"notebook", "jupyterlab"} if jupyter.lab_version else {"notebook"}
    elif state is conda.PrefixState.BROKEN:
        # The repair (-u) keeps what was installed; its Python cannot be asked right now.
        have = conda.recorded_packages(found.prefix, wanted)
    elif state.installable:
        # A fresh Anaconda brings notebook and JupyterLab; the small ones bring neither.
        have = wanted if found.distribution == "anaconda" else set()
    else:
        return False
    return not wanted <= have


def ensure_accepted(settings: Settings, prefix: Path, interactive: bool) -> None:
    """Ask once on a terminal (the answer goes into the settings), or require the flag
    without one."""
    if settings.accept_anaconda_tos:
        return
    text = EXPLANATION.format(prefix=prefix)
    if not interactive:
        raise UserError(
            f"Anaconda's terms of service must be accepted to install Jupyter into {prefix} "
            "from Anaconda's channels, and there is no terminal to ask on",
            hint=f"read {TERMS_URL}, then run again with --accept-anaconda-tos; or use the "
            "free conda-forge: --distribution miniforge --prefix ~/miniforge3",
        )
    Console().info(text)
    if not click.confirm("Accept Anaconda's terms of service?", default=False, err=True):
        raise UserError(
            "Anaconda's terms of service were not accepted: nothing was installed",
            hint="use the free conda-forge instead: jupyter-bootstrap init "
            "--distribution miniforge --prefix ~/miniforge3",
        )
    settings.accept_anaconda_tos = True


def accept(account: Account, conda_bin: Path) -> None:
    """Record the acceptance with conda itself, so the user's own `conda install` works too.
    A conda older than the `tos` command has no terms to accept: its failure is logged."""
    for channel in DEFAULT_CHANNELS:
        argv = [str(conda_bin), "tos", "accept", "--override-channels", "--channel", channel]
        result = run(
            conda.as_account(account, argv),
            check=False,
            timeout=300,
            env=conda.account_env(account),
        )
        if result.returncode != 0:
            log.info("conda tos accept failed (old conda without the tos command?)")
            return
