"""The units that stop the machine when it has been idle long enough: a timer, and the
oneshot it starts, whose condition (`jupyter-bootstrap idle-check`, as the login user)
decides and whose one root command powers off."""

from __future__ import annotations

from typing import NamedTuple

from jupyter_bootstrap import durations, templating
from jupyter_bootstrap.service.agent_run import AgentRun, render
from jupyter_bootstrap.service.renewal_units import base_name
from jupyter_bootstrap.service.unit import MARKER, unit_name

SERVICE_TEMPLATE = "stop-when-idle.service.j2"
TIMER_TEMPLATE = "stop-when-idle.timer.j2"
CHECK = ["idle-check"]


def service_name_for(service_name: str) -> str:
    """jupyter -> jupyter-stop-when-idle.service"""
    return f"{base_name(service_name)}-stop-when-idle.service"


def timer_name_for(service_name: str) -> str:
    return f"{base_name(service_name)}-stop-when-idle.timer"


class IdleUnitValues(NamedTuple):
    """Everything the two units depend on; equal values render byte-identical units."""

    service_name: str  # the Jupyter service's
    run: AgentRun
    after: int  # seconds idle before the power-off
    interval: int  # seconds between two looks


def render_service(values: IdleUnitValues) -> str:
    jupyter = unit_name(values.service_name)
    return render(
        SERVICE_TEMPLATE,
        values.run,
        CHECK,
        description=f"Power off after {durations.describe(values.after)} with {jupyter} "
        "idle and nobody logged in (jupyter-bootstrap)",
        jupyter_unit=jupyter,
    )


def render_timer(values: IdleUnitValues) -> str:
    return templating.render(
        TIMER_TEMPLATE,
        marker=MARKER,
        description=f"Look every {durations.describe(values.interval)} whether the machine "
        "has been idle long enough to power off (jupyter-bootstrap)",
        interval=f"{values.interval}s",
    )
