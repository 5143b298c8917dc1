"""The units that keep the kernelspecs in step with the user's environments: a path unit
watching the folders of environments, and the oneshot it starts, which runs
`jupyter-bootstrap kernels sync --wait` as the login user."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from jupyter_bootstrap import templating
from jupyter_bootstrap.service.agent_run import AgentRun, render
from jupyter_bootstrap.service.renewal_units import base_name
from jupyter_bootstrap.service.unit import MARKER, unit_name

PATH_TEMPLATE = "kernels-sync.path.j2"
SERVICE_TEMPLATE = "kernels-sync.service.j2"
SYNC = ["kernels", "sync", "--wait"]


def service_name_for(service_name: str) -> str:
    """jupyter -> jupyter-kernels.service"""
    return f"{base_name(service_name)}-kernels.service"


def path_name_for(service_name: str) -> str:
    return f"{base_name(service_name)}-kernels.path"


class KernelUnitValues(NamedTuple):
    """Everything the two units depend on; equal values render byte-identical units."""

    service_name: str  # the Jupyter service's
    run: AgentRun
    watched: tuple[Path, ...]  # the folders of environments


def render_service(values: KernelUnitValues) -> str:
    return render(
        SERVICE_TEMPLATE,
        values.run,
        SYNC,
        description="Kernels for new or removed environments of "
        f"{unit_name(values.service_name)} (jupyter-bootstrap)",
    )


def render_path(values: KernelUnitValues) -> str:
    return templating.render(
        PATH_TEMPLATE,
        marker=MARKER,
        description="Watch the environments of "
        f"{unit_name(values.service_name)} for new kernels (jupyter-bootstrap)",
        watched=values.watched,
        sync_unit=service_name_for(values.service_name),
    )
