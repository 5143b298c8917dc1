"""The systemd unit that runs Jupyter: what goes in it, where it lives, and how to tell
ours from a unit of the same name that someone else wrote."""

from __future__ import annotations

import grp
import shlex
from dataclasses import dataclass
from pathlib import Path

from jupyter_bootstrap import paths
from jupyter_bootstrap.literals import template_environment

TEMPLATE = "jupyter.service.j2"
# The first line of every unit we write. A unit without it is someone else's and is never
# overwritten or removed.
MARKER = "# Managed by jupyter-bootstrap."
SEARCH_PATH_TAIL = ("/usr/local/bin", "/usr/bin", "/bin")


@dataclass(frozen=True)
class UnitValues:
    """Everything the unit depends on; two equal UnitValues render byte-identical units."""

    user: str
    group: str
    notebook_dir: Path
    jupyter_bin: Path
    app: str  # "notebook" or "lab": the jupyter subcommand
    config_file: Path

    @property
    def exec_start(self) -> list[str]:
        # Absolute paths only: the login shell's PATH (and ~/.bashrc's conda block) is not
        # there for a service.
        return [str(self.jupyter_bin), self.app, f"--config={self.config_file}"]

    @property
    def search_path(self) -> str:
        # The prefix first, so kernels and terminals find the prefix's python, pip and conda.
        return ":".join([str(self.jupyter_bin.parent), *SEARCH_PATH_TAIL])

    @property
    def description(self) -> str:
        app = "JupyterLab" if self.app == "lab" else "Jupyter Notebook"
        return f"{app} server (HTTPS, password login), set up by jupyter-bootstrap"

    def manual_command(self) -> str:
        """The shell command that starts the same server by hand (no systemd): one argument
        per line, shell-continued, so it stays copy-pastable within 100 columns."""
        quoted = [shlex.quote(arg) for arg in self.exec_start]
        return f"{quoted[0]} {quoted[1]} \\\n    {quoted[2]}"


def unit_name(service_name: str) -> str:
    return service_name if service_name.endswith(".service") else f"{service_name}.service"


def unit_path(service_name: str) -> Path:
    return paths.SYSTEMD_UNIT_DIR / unit_name(service_name)


def group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)  # systemd accepts a numeric GID too


def render(values: UnitValues) -> str:
    template = template_environment(paths.systemd_template_dir()).get_template(TEMPLATE)
    return template.render(
        marker=MARKER,
        description=values.description,
        user=values.user,
        group=values.group,
        notebook_dir=values.notebook_dir,
        search_path=values.search_path,
        program=values.exec_start[0],
        arguments=values.exec_start[1:],
    )


def is_ours(text: str) -> bool:
    return any(line.strip() == MARKER for line in text.splitlines()[:5])
