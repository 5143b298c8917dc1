"""What steps learn about the machine and hand on to later steps (a step never imports
another step; they share only this, the settings and the run state on the context)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Optional

if TYPE_CHECKING:
    from jupyter_bootstrap.certificate_facts import CertificateInfo
    from jupyter_bootstrap.conda import CondaInstall
    from jupyter_bootstrap.public_address import PublicAddress


class OsInfo(NamedTuple):
    id: str
    version_id: str
    pretty_name: str


class JupyterInstall(NamedTuple):
    """Jupyter as found in a prefix."""

    prefix: Path
    jupyter_bin: Path
    python_bin: Path
    server_version: Optional[str]  # jupyter_server, None when only classic notebook exists
    notebook_version: Optional[str]
    lab_version: Optional[str]

    @property
    def classic(self) -> bool:
        """Classic Notebook < 7 runs on its own NotebookApp, not Jupyter Server."""
        if self.notebook_version is None:
            return False
        return int(self.notebook_version.split(".")[0]) < 7

    @property
    def config_kind(self) -> str:
        return "notebook" if self.classic else "server"


@dataclass
class Facts:
    """What the checks learned about this machine, for the steps after them."""

    os: Optional[OsInfo] = None
    arch: Optional[str] = None
    conda: Optional[CondaInstall] = None  # the prefix the conda step found or installed
    jupyter: Optional[JupyterInstall] = None
    config_file: Optional[Path] = None
    certfile: Optional[Path] = None
    keyfile: Optional[Path] = None
    certificate: Optional[CertificateInfo] = None
    cert_names: list[str] = field(default_factory=list)
    public: Optional[PublicAddress] = None
