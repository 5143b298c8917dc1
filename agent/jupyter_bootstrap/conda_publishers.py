"""Where each conda distribution publishes its installers. Apart from the installer table
because `init --help` prints these, and help should cost little more than click itself."""

from __future__ import annotations

from typing import NamedTuple


class Publisher(NamedTuple):
    """Where a distribution's installers live; `env` overrides the base URL (a mirror, or
    a loopback server in the tests)."""

    env: str
    default_url: str
    sidecar_hashes: bool  # True: `<asset>.sha256` beside each file; False: index page


PUBLISHERS = {
    "anaconda": Publisher(
        "JUPYTER_BOOTSTRAP_ANACONDA_ARCHIVE_URL", "https://repo.anaconda.com/archive/", False
    ),
    "miniconda": Publisher(
        "JUPYTER_BOOTSTRAP_MINICONDA_URL", "https://repo.anaconda.com/miniconda/", False
    ),
    "miniforge": Publisher(
        "JUPYTER_BOOTSTRAP_MINIFORGE_URL",
        "https://github.com/conda-forge/miniforge/releases/latest/download/",
        True,
    ),
}
