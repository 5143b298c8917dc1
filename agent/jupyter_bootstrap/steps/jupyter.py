"""Jupyter: the prefix holds a Jupyter we can configure and run."""

from __future__ import annotations

from pathlib import Path

from jupyter_bootstrap import jupyter_probe
from jupyter_bootstrap.engine import Context, Status
from jupyter_bootstrap.errors import StepFailed


def prefix_of(ctx: Context) -> Path:
    if ctx.settings.prefix:
        return Path(ctx.settings.prefix)
    return ctx.paths.default_prefix(ctx.settings.distribution)


class JupyterStep:
    name = "jupyter"
    title = "Jupyter in the conda prefix"

    def check(self, ctx: Context) -> Status:
        prefix = prefix_of(ctx)
        install = jupyter_probe.probe(prefix)
        ctx.facts.jupyter = install
        if install is None:
            return Status.drift(f"no Jupyter in {prefix}", "install the notebook package")
        if ctx.settings.app == "lab" and install.lab_version is None:
            return Status.drift(f"no JupyterLab in {prefix}", "install jupyterlab")
        parts = []
        if install.notebook_version:
            parts.append(f"notebook {install.notebook_version}")
        if install.lab_version:
            parts.append(f"jupyterlab {install.lab_version}")
        if install.server_version:
            parts.append(f"jupyter_server {install.server_version}")
        return Status.good(f"{prefix}: " + ", ".join(parts))

    def apply(self, ctx: Context, found: Status) -> str:
        raise StepFailed(
            found.summary,
            hint="pass --prefix pointing at an environment that has Jupyter "
            "(e.g. ~/anaconda3), or install it there with `conda install notebook`",
        )
