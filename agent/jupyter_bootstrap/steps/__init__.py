"""The steps of `init`, in the order they run. Imported lazily: some pull in cryptography."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jupyter_bootstrap.engine import Step

STEP_NAMES = ("host", "jupyter", "password", "certificate", "config")


def init_steps() -> list[Step]:
    from jupyter_bootstrap.steps.certificate import CertificateStep
    from jupyter_bootstrap.steps.config import ConfigStep
    from jupyter_bootstrap.steps.host import HostStep
    from jupyter_bootstrap.steps.jupyter import JupyterStep
    from jupyter_bootstrap.steps.password import PasswordStep

    return [HostStep(), JupyterStep(), PasswordStep(), CertificateStep(), ConfigStep()]
