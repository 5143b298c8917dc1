"""What Jupyter a prefix holds, asked of the prefix's own Python."""

from __future__ import annotations

import json
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


def probe(prefix: Path) -> Optional[JupyterInstall]:
    """The Jupyter in `prefix`, or None when it has no usable Jupyter (no notebook and no
    jupyter_server, no jupyter command, or a Python that does not run)."""
    python = prefix / "bin" / "python"
    jupyter = prefix / "bin" / "jupyter"
    if not python.exists() or not jupyter.exists():
        return None
    result = run([str(python), "-c", _PROBE], check=False, timeout=60)
    if result.returncode != 0:
        return None
    try:
        versions = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
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
