"""Every location the agent reads or writes, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

APP = "jupyter-bootstrap"


@dataclass(frozen=True)
class Paths:
    """Locations derived from the home directory of the user Jupyter runs as."""

    home: Path

    @property
    def config_dir(self) -> Path:
        return self.home / ".config" / APP

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def state_dir(self) -> Path:
        return self.home / ".local" / "state" / APP

    @property
    def log_file(self) -> Path:
        return self.state_dir / "jupyter-bootstrap.log"

    @property
    def state_file(self) -> Path:
        """Machine-written facts (e.g. what the running server was started with)."""
        return self.state_dir / "state.json"

    @property
    def cache_dir(self) -> Path:
        return self.home / ".cache" / APP

    @property
    def download_dir(self) -> Path:
        return self.cache_dir / "downloads"

    @property
    def jupyter_dir(self) -> Path:
        return self.home / ".jupyter"

    @property
    def server_config(self) -> Path:
        return self.jupyter_dir / "jupyter_server_config.py"

    @property
    def server_config_json(self) -> Path:
        return self.jupyter_dir / "jupyter_server_config.json"

    @property
    def notebook_config(self) -> Path:
        return self.jupyter_dir / "jupyter_notebook_config.py"

    @property
    def notebook_config_json(self) -> Path:
        return self.jupyter_dir / "jupyter_notebook_config.json"

    @property
    def certs_dir(self) -> Path:
        return self.home / "certs"

    @property
    def default_certfile(self) -> Path:
        return self.certs_dir / "mycert.pem"

    @property
    def default_keyfile(self) -> Path:
        return self.certs_dir / "mycert.key"

    @property
    def default_notebook_dir(self) -> Path:
        return self.home / "Notebooks"

    @property
    def bashrc(self) -> Path:
        return self.home / ".bashrc"

    def default_prefix(self, distribution: str) -> Path:
        return self.home / DISTRIBUTION_DIRS.get(distribution, "anaconda3")


DISTRIBUTION_DIRS = {
    "anaconda": "anaconda3",
    "miniconda": "miniconda3",
    "miniforge": "miniforge3",
}

SYSTEMD_UNIT_DIR = Path("/etc/systemd/system")
OS_RELEASE = Path("/etc/os-release")


def package_dir() -> Path:
    return Path(__file__).resolve().parent


def systemd_template_dir() -> Path:
    """The unit templates: inside the wheel, or the checkout's top-level systemd/ folder."""
    shipped = package_dir() / "systemd"
    if shipped.is_dir():
        return shipped
    return package_dir().parent.parent / "systemd"
