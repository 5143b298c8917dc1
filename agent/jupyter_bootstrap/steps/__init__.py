"""The steps of `init`, in the order they run. Imported lazily: `--help` and `--version` need
none of them."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jupyter_bootstrap.engine import Step

STEP_NAMES = (
    "host",
    "conda",
    "shell",
    "jupyter",
    "password",
    "certificate",
    "config",
    "service",
    "kernels",
    "autostop",
    "renewal",
    "health",
)


def init_steps() -> list[Step[Any]]:
    from jupyter_bootstrap.steps.autostop import AutostopStep
    from jupyter_bootstrap.steps.certificate import CertificateStep
    from jupyter_bootstrap.steps.conda import CondaStep
    from jupyter_bootstrap.steps.config import ConfigStep
    from jupyter_bootstrap.steps.health import HealthStep
    from jupyter_bootstrap.steps.host import HostStep
    from jupyter_bootstrap.steps.jupyter import JupyterStep
    from jupyter_bootstrap.steps.kernels import KernelsStep
    from jupyter_bootstrap.steps.password import PasswordStep
    from jupyter_bootstrap.steps.renewal import RenewalStep
    from jupyter_bootstrap.steps.service import ServiceStep
    from jupyter_bootstrap.steps.shell import ShellStep

    return [
        HostStep(),
        CondaStep(),
        ShellStep(),
        JupyterStep(),
        PasswordStep(),
        CertificateStep(),
        ConfigStep(),
        ServiceStep(),
        KernelsStep(),
        AutostopStep(),
        RenewalStep(),
        HealthStep(),
    ]


def steps_named(names: Collection[str]) -> list[Step[Any]]:
    """The steps among `names`, in the order init runs them."""
    return [step for step in init_steps() if step.name in names]
