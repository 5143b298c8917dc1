"""What Jupyter a prefix holds: read from the metadata of the packages installed in its
site-packages when the layout leaves no doubt about what its Python would find there, else
asked of the prefix's own Python (a tenth of a second: it starts an interpreter)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Optional

from jupyter_bootstrap.facts import JupyterInstall
from jupyter_bootstrap.run import run

# Runs inside the prefix's Python: versions without importing Jupyter (fast, no side effects).
_PROBE = """
import json
from importlib import metadata
out = {}
for name in ("jupyter_server", "notebook", "jupyterlab"):
    try:
        out[name] = metadata.version(name)
    except metadata.PackageNotFoundError:
        out[name] = None
print(json.dumps(out))
"""


_NAMES = ("jupyter_server", "notebook", "jupyterlab")
# Each changes where the prefix's Python looks for packages.
_PATH_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "PYTHONUSERBASE")
Versions = dict[str, Optional[str]]


def _project(entry: str) -> Optional[tuple[str, str]]:
    """(normalised project name, kind) of a metadata entry of site-packages, None for
    anything else."""
    for kind in (".dist-info", ".egg-info", ".egg"):
        if entry.endswith(kind):
            name = entry[: -len(kind)].split("-")[0]
            return re.sub(r"[-_.]+", "_", name).lower(), kind
    return None


def _metadata_version(path: Path) -> Optional[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    for line in text.splitlines():
        if not line.strip():
            break  # the end of the headers
        if line.startswith("Version:"):
            return line[len("Version:") :].strip() or None
    return None


def _sees_more_than_its_site(prefix: Path, site: Path, home: Path) -> bool:
    """Whether the prefix's Python also finds packages outside `site`, before it or instead:
    the environment's path variables, a venv sharing the system's packages, or (outside a
    venv) the user's own site-packages (in `home`: the user Jupyter runs as)."""
    if any(os.environ.get(name) for name in _PATH_VARIABLES):
        return True
    config = prefix / "pyvenv.cfg"
    if config.exists():
        try:
            text = config.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return True
        shared = re.search(r"^\s*include-system-site-packages\s*=\s*true\s*$", text, re.I | re.M)
        return shared is not None
    return (home / ".local" / "lib" / site.parent.name / "site-packages").exists()


def versions_from_metadata(prefix: Path, home: Optional[Path] = None) -> Optional[Versions]:
    """What `importlib.metadata.version()` answers in the prefix's Python for each name,
    read from the one site-packages it has; None when that would not be exact: a `python`
    that is no interpreter binary (a wrapper may change its path) or whose version its name
    does not tell, a site-packages of another Python version (a venv whose base Python was
    upgraded under it), several Python versions, more places the Python looks in, a package
    found twice or only as an egg, or a package missing while a .pth file may add a folder
    to look in."""
    # What bin/python really is: a venv's links to its base interpreter, a conda prefix's to
    # its own python3.N; both end at a binary named after its version.
    binary_path = (prefix / "bin" / "python").resolve()
    named = re.fullmatch(r"python(3\.\d+)", binary_path.name)
    if named is None:
        return None
    try:
        with binary_path.open("rb") as binary:
            if binary.read(4) != b"\x7fELF":
                return None
    except OSError:
        return None
    sites = list(prefix.glob("lib/python3*/site-packages"))
    if len(sites) != 1 or sites[0].parent.name != f"python{named.group(1)}":
        return None
    if _sees_more_than_its_site(prefix, sites[0], home or Path.home()):
        return None
    found: dict[str, list[tuple[str, str]]] = {name: [] for name in _NAMES}
    extended = False
    try:
        with os.scandir(sites[0]) as entries:
            for entry in entries:
                if entry.name.endswith(".pth"):
                    extended = True
                project = _project(entry.name)
                if project is not None and project[0] in found:
                    found[project[0]].append((entry.name, project[1]))
    except OSError:
        return None
    versions: Versions = {}
    for name, matches in found.items():
        if not matches:
            if extended:
                return None
            versions[name] = None
            continue
        if len(matches) > 1 or matches[0][1] != ".dist-info":
            return None
        version = _metadata_version(sites[0] / matches[0][0] / "METADATA")
        if version is None:
            return None
        versions[name] = version
    return versions


def _versions_from_python(python: Path) -> Optional[Versions]:
    result = run([str(python), "-c", _PROBE], check=False, timeout=60)
    if result.returncode != 0:
        return None
    try:
        versions = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
    return versions if isinstance(versions, dict) else None


def probe(prefix: Path, home: Optional[Path] = None) -> Optional[JupyterInstall]:
    """The Jupyter in `prefix`, or None when it has no usable Jupyter (no notebook and no
    jupyter_server, no jupyter command, or a Python that does not run)."""
    python = prefix / "bin" / "python"
    jupyter = prefix / "bin" / "jupyter"
    if not python.exists() or not jupyter.exists():
        return None
    versions = versions_from_metadata(prefix, home) or _versions_from_python(python)
    if versions is None:
        return None
    install = JupyterInstall(
        prefix=prefix,
        jupyter_bin=jupyter,
        python_bin=python,
        server_version=versions.get("jupyter_server"),
        notebook_version=versions.get("notebook"),
        lab_version=versions.get("jupyterlab"),
    )
    if install.notebook_version is None and install.server_version is None:
        return None
    return install
