"""The systemd unit that runs Jupyter: what goes in it, where it lives, how to tell ours
from a unit of the same name that someone else wrote, and writing or removing it as root."""

from __future__ import annotations

import grp
import shlex
from pathlib import Path
from typing import NamedTuple, Optional

from jupyter_bootstrap import paths, templating
from jupyter_bootstrap.errors import UserError
from jupyter_bootstrap.files import read_bytes_or_none
from jupyter_bootstrap.run import run, sudo_argv
from jupyter_bootstrap.service import systemctl
from jupyter_bootstrap.service.systemctl import UnitState

TEMPLATE = "jupyter.service.j2"
# The first line of every unit we write. A unit without it is someone else's and is never
# overwritten or removed.
MARKER = "# Managed by jupyter-bootstrap."
SEARCH_PATH_TAIL = ("/usr/local/bin", "/usr/bin", "/bin")


class UnitValues(NamedTuple):
    """Everything the unit depends on; two equal UnitValues render byte-identical units."""

    user: str
    group: str
    notebook_dir: Path
    jupyter_bin: Path
    app: str  # "notebook" or "lab": the jupyter subcommand
    config_file: Path
    # A port below 1024 needs CAP_NET_BIND_SERVICE, which the unit then grants to Jupyter
    # alone (its kernels inherit it: they may bind low ports too, nothing more).
    privileged_port: bool = False

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
    return templating.render(
        TEMPLATE,
        marker=MARKER,
        description=values.description,
        user=values.user,
        group=values.group,
        notebook_dir=values.notebook_dir,
        search_path=values.search_path,
        program=values.exec_start[0],
        arguments=values.exec_start[1:],
        privileged_port=values.privileged_port,
    )


def is_ours(text: str) -> bool:
    return any(line.strip() == MARKER for line in text.splitlines()[:5])


def user_of(text: str) -> Optional[str]:
    """The User= of a unit we wrote (our template puts it on a line of its own)."""
    for line in text.splitlines():
        if line.startswith("User="):
            return line[len("User=") :].strip()
    return None


def read(path: Path) -> Optional[str]:
    """The unit file's text, or None when there is none."""
    data = read_bytes_or_none(path)
    return None if data is None else data.decode("utf-8", errors="replace")


def foreign_unit_error(where: Path) -> UserError:
    return UserError(
        f"{where} exists and was not written by jupyter-bootstrap; it is left alone",
        hint="choose another name for our service with --service-name, e.g. "
        "`jupyter-bootstrap init --service-name jupyter-https`",
    )


def refuse_foreign(path: Path, text: Optional[str], state: UnitState) -> None:
    """Never overwrite someone else's unit, nor hide one of the same name that systemd
    loads from elsewhere (/lib/systemd/system, a package's)."""
    if text is not None and not is_ours(text):
        raise foreign_unit_error(path)
    other = state.fragment_path
    if other and Path(other) != path and state.load_state != "not-found":
        raise foreign_unit_error(Path(other))


def install(path: Path, text: str) -> None:
    """Write the unit as root, atomically: a temporary file beside it (a name systemd does
    not load), its final mode, synced, then renamed over the old one."""
    systemctl.forget()
    temporary = path.with_name(f".{path.name}.jupyter-bootstrap.tmp")
    what = f"writing {path}"
    run(sudo_argv(["tee", str(temporary)]), input_text=text, what=what)
    run(sudo_argv(["chmod", "0644", str(temporary)]), what=what)
    run(sudo_argv(["sync", str(temporary)]), what=what)
    run(sudo_argv(["mv", "-f", "-T", str(temporary), str(path)]), what=what)


def remove(path: Path) -> None:
    systemctl.forget()
    run(sudo_argv(["rm", "-f", "--", str(path)]), what=f"removing {path}")
