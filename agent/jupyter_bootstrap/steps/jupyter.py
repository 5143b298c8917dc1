"""Jupyter: the prefix holds a Jupyter we can configure and run. Miniconda and Miniforge
come without it: the prefix's own conda installs `notebook` (and `jupyterlab` for
--app lab) non-interactively."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Optional

from jupyter_bootstrap import anaconda_tos, conda, jupyter_probe, kill_points
from jupyter_bootstrap.conda import PrefixState
from jupyter_bootstrap.engine import Context, Status, drift, good
from jupyter_bootstrap.errors import StepFailed
from jupyter_bootstrap.facts import JupyterInstall
from jupyter_bootstrap.run import run

# Solving and fetching a few dozen packages; slow mirrors and small instances need time.
INSTALL_TIMEOUT = 1800


def missing_packages(install: Optional[JupyterInstall], app: str) -> list[str]:
    """What `conda install` must add for the chosen app."""
    missing = []
    # Jupyter Server alone serves neither app: `jupyter notebook` would not exist and the
    # service would fail at every start.
    if install is None or (app == "notebook" and install.notebook_version is None):
        missing.append("notebook")
    if app == "lab" and (install is None or install.lab_version is None):
        missing.append("jupyterlab")
    return missing


class JupyterPlan(NamedTuple):
    prefix: Path
    packages: tuple[str, ...]
    # The prefix's conda to install them with; None: the prefix is no working conda.
    conda_bin: Optional[Path]
    conda_forge: bool  # conda-forge's channel; else Anaconda's, whose terms must be accepted
    needs_anaconda_tos: bool

    @property
    def missing(self) -> str:
        return "Jupyter" if "notebook" in self.packages else "JupyterLab"

    @property
    def action(self) -> str:
        return f"install {' '.join(self.packages)} with conda"

    @property
    def restart_reason(self) -> Optional[str]:
        return None  # only ever adds what is missing: no server runs without it


def _working_conda(ctx: Context, prefix: Path) -> Optional[conda.CondaInstall]:
    found = ctx.facts.conda
    if found is None:  # --skip conda: still use the prefix's conda if it works
        found = conda.inspect_prefix(prefix, "chosen", ctx.settings.distribution)
    if found.state is not PrefixState.READY or not (prefix / "bin" / "conda").exists():
        return None
    return found


class JupyterStep:
    name = "jupyter"

    def check(self, ctx: Context) -> Status[JupyterPlan]:
        prefix = ctx.prefix
        install = jupyter_probe.probe(prefix, ctx.account.home)
        ctx.facts.jupyter = install
        missing = missing_packages(install, ctx.settings.app)
        if missing:
            usable = _working_conda(ctx, prefix)
            plan = JupyterPlan(
                prefix=prefix,
                packages=tuple(missing),
                conda_bin=prefix / "bin" / "conda" if usable else None,
                conda_forge=usable.conda_forge if usable else False,
                # The prediction covers a conda still to be installed; a working one that
                # is not conda-forge's will ask Anaconda's channels whatever it predicts.
                needs_anaconda_tos=anaconda_tos.needed(ctx.facts, ctx.settings)
                or (usable is not None and not usable.conda_forge),
            )
            if install is not None and "notebook" in missing:
                found = f"only jupyter_server {install.server_version}"
                return drift(f"no notebook package in {prefix} ({found})", plan)
            return drift(f"no {plan.missing} in {prefix}", plan)
        assert install is not None
        parts = []
        if install.notebook_version:
            parts.append(f"notebook {install.notebook_version}")
        if install.lab_version:
            parts.append(f"jupyterlab {install.lab_version}")
        if install.server_version:
            parts.append(f"jupyter_server {install.server_version}")
        return good(f"{prefix}: " + ", ".join(parts))

    def ask_first(self, ctx: Context, plan: JupyterPlan) -> None:
        """Anaconda's terms, asked before the long steps like every other question."""
        if plan.needs_anaconda_tos:
            anaconda_tos.ensure_accepted(ctx.settings, plan.prefix, ctx.options.interactive)

    def apply(self, ctx: Context, plan: JupyterPlan) -> str:
        prefix = plan.prefix
        if plan.conda_bin is None:
            raise StepFailed(
                f"no {plan.missing} in {prefix}, and it is not a working conda install to add "
                "it with",
                hint="pass --prefix of a conda install (or none: one is installed), or "
                f"install Jupyter there yourself: {prefix}/bin/pip install notebook",
            )
        argv = [str(plan.conda_bin), "install", "--yes", "--prefix", str(prefix)]
        env = conda.account_env(ctx.account)
        if plan.conda_forge:
            argv += ["--override-channels", "--channel", "conda-forge"]
            source = "conda-forge"
        else:
            # Accepted in the preflight (or by the flag); never a question half-way through.
            if not ctx.settings.accept_anaconda_tos:
                raise StepFailed(
                    "Anaconda's terms of service were not accepted before the run started",
                    hint="run `jupyter-bootstrap init` again: it asks before it changes "
                    "anything (or pass --accept-anaconda-tos)",
                )
            anaconda_tos.accept(ctx.account, plan.conda_bin)
            env.update(anaconda_tos.AUTO_ACCEPT_ENV)
            source = "Anaconda's channels"
        packages = list(plan.packages)
        ctx.console.info(f"Installing {' and '.join(packages)} into {prefix} with conda")
        # Reached when conda install returns: the kill lands between its work and our line.
        with kill_points.while_running("jupyter:conda-install-running", lambda: False):
            run(
                conda.as_account(ctx.account, [*argv, *packages]),
                timeout=INSTALL_TIMEOUT,
                env=env,
                what="conda install " + " ".join(packages),
                hint="conda's last lines are above and all of it is in the log; check the "
                "network to the package channels, then run init again",
            )
        return f"installed {', '.join(packages)} into {prefix} from {source}"
