"""Jupyter: the prefix holds a Jupyter we can configure and run. Miniconda and Miniforge
come without it: the prefix's own conda installs `notebook` (and `jupyterlab` for
--app lab) non-interactively."""

from __future__ import annotations

import sys
from typing import Optional

from jupyter_bootstrap import anaconda_tos, conda, jupyter_probe
from jupyter_bootstrap.conda import PrefixState
from jupyter_bootstrap.engine import Context, Status
from jupyter_bootstrap.errors import StepFailed
from jupyter_bootstrap.facts import JupyterInstall
from jupyter_bootstrap.run import run

# Solving and fetching a few dozen packages; slow mirrors and small instances need time.
INSTALL_TIMEOUT = 1800


def missing_packages(install: Optional[JupyterInstall], app: str) -> list[str]:
    """What `conda install` must add for the chosen app."""
    missing = []
    if install is None:
        missing.append("notebook")
    if app == "lab" and (install is None or install.lab_version is None):
        missing.append("jupyterlab")
    return missing


class JupyterStep:
    name = "jupyter"
    title = "Jupyter in the conda prefix"

    def check(self, ctx: Context) -> Status:
        prefix = ctx.prefix
        install = jupyter_probe.probe(prefix)
        ctx.facts.jupyter = install
        missing = missing_packages(install, ctx.settings.app)
        if missing:
            what = "Jupyter" if install is None else "JupyterLab"
            action = f"install {' '.join(missing)} with conda"
            return Status.drift(f"no {what} in {prefix}", action)
        assert install is not None
        parts = []
        if install.notebook_version:
            parts.append(f"notebook {install.notebook_version}")
        if install.lab_version:
            parts.append(f"jupyterlab {install.lab_version}")
        if install.server_version:
            parts.append(f"jupyter_server {install.server_version}")
        return Status.good(f"{prefix}: " + ", ".join(parts))

    def apply(self, ctx: Context, found: Status) -> str:
        prefix = ctx.prefix
        conda_bin = prefix / "bin" / "conda"
        found_conda = ctx.facts.conda
        if found_conda is None:  # --skip conda: still use the prefix's conda if it works
            found_conda = conda.inspect_prefix(prefix, "chosen", ctx.settings.distribution)
        if found_conda.state is not PrefixState.READY or not conda_bin.exists():
            raise StepFailed(
                f"{found.summary}, and it is not a working conda install to add it with",
                hint="pass --prefix of a conda install (or none: one is installed), or "
                f"install Jupyter there yourself: {prefix}/bin/pip install notebook",
            )
        packages = missing_packages(ctx.facts.jupyter, ctx.settings.app)
        argv = [str(conda_bin), "install", "--yes", "--prefix", str(prefix)]
        env = conda.account_env(ctx.account)
        if found_conda.conda_forge:
            argv += ["--override-channels", "--channel", "conda-forge"]
            source = "conda-forge"
        else:
            anaconda_tos.ensure_accepted(ctx, interactive=sys.stdin.isatty())
            ctx.save_settings()
            anaconda_tos.accept(ctx, conda_bin)
            env.update(anaconda_tos.AUTO_ACCEPT_ENV)
            source = "Anaconda's channels"
        ctx.console.info(f"Installing {' and '.join(packages)} into {prefix} with conda")
        run(
            conda.as_account(ctx.account, [*argv, *packages]),
            timeout=INSTALL_TIMEOUT,
            env=env,
            what="conda install " + " ".join(packages),
            hint="conda's last lines are above and all of it is in the log; check the "
            "network to the package channels, then run init again",
        )
        return f"installed {', '.join(packages)} into {prefix} from {source}"
