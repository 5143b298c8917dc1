"""The locations of the user's setup and of the agent's own directories, derived from one
home directory, plus the two machine-wide files every step may read (the unit directory and
os-release). A subsystem's own fixed places stay beside the code that knows them: the
booted-systemd marker (service/systemctl.py), /proc (service/process.py), the system-wide
conda prefixes (conda.py), and the records it keeps in the state directory
(installed.json in installed.py, last-good.json in service/known_good.py)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

APP = "jupyter-bootstrap"


class Paths(NamedTuple):
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
    def kernels_dir(self) -> Path:
        """Where Jupyter looks for the user's own kernelspecs (the service has no
        JUPYTER_DATA_DIR or XDG_DATA_HOME: this is what it reads, whoever runs the agent)."""
        return self.home / ".local" / "share" / "jupyter" / "kernels"

    @property
    def certs_dir(self) -> Path:
        return self.home / "certs"

    @property
    def default_certfile(self) -> Path:
        """The key and the certificate chain in one file: replaced by one rename, so the
        server (which reads it for every new connection) never pairs a new certificate with
        an old key, and a new certificate needs no restart."""
        return self.certs_dir / "mycert.pem"

    @property
    def separate_keyfile(self) -> Path:
        """Where the key was kept when it had a file of its own (folded into
        default_certfile by the next run)."""
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


def template_dir() -> Path:
    """The jinja2 templates (Jupyter configs, the systemd unit), shipped inside the package."""
    return Path(__file__).resolve().parent / "templates"
