"""The units that keep the certificate fresh without anyone logged in: a oneshot service
running `jupyter-bootstrap cert renew` as the login user, started by a timer twice a day and
at boot before Jupyter (a stop/start may have given the instance a new public IP)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NamedTuple

from jupyter_bootstrap import templating
from jupyter_bootstrap.service.unit import MARKER, unit_name

SERVICE_TEMPLATE = "certificate-renewal.service.j2"
TIMER_TEMPLATE = "certificate-renewal.timer.j2"
# Our own knobs reach the unit as they were when init ran (a metadata URL of a mirror, the
# tests' loopback switches); the lock hand-over of a single run never does.
CARRIED_PREFIX = "JUPYTER_BOOTSTRAP_"
# About this run only: the lock's holder, and the first-boot script's mark (user_data.py),
# which a later run by the user lacks (its units would then differ from these for nothing).
NOT_CARRIED = ("JUPYTER_BOOTSTRAP_LOCK_HOLDER", "JUPYTER_BOOTSTRAP_FIRST_BOOT")


def base_name(service_name: str) -> str:
    return unit_name(service_name)[: -len(".service")]


def service_name_for(service_name: str) -> str:
    """jupyter -> jupyter-certificate.service"""
    return f"{base_name(service_name)}-certificate.service"


def timer_name_for(service_name: str) -> str:
    return f"{base_name(service_name)}-certificate.timer"


def carried_environment(environ: dict[str, str]) -> tuple[str, ...]:
    return tuple(
        f"{key}={value}"
        for key, value in sorted(environ.items())
        if key.startswith(CARRIED_PREFIX) and key not in NOT_CARRIED
    )


class RenewalValues(NamedTuple):
    """Everything the two units depend on; equal values render byte-identical units."""

    service_name: str  # the Jupyter service's (settings.service_name)
    user: str
    group: str
    home: Path
    program: str  # the agent's Python: the unit runs `python -m jupyter_bootstrap`
    environment: tuple[str, ...]
    privileged_ports: bool  # the CA's checks come to ports below 1024

    @property
    def arguments(self) -> list[str]:
        return ["-m", "jupyter_bootstrap", "cert", "renew"]


def values_for(
    service_name: str, user: str, group: str, home: Path, privileged_ports: bool
) -> RenewalValues:
    return RenewalValues(
        service_name=service_name,
        user=user,
        group=group,
        home=home,
        program=sys.executable,
        environment=carried_environment(dict(os.environ)),
        privileged_ports=privileged_ports,
    )


def render_service(values: RenewalValues) -> str:
    jupyter = unit_name(values.service_name)
    return templating.render(
        SERVICE_TEMPLATE,
        marker=MARKER,
        description=f"Renew the certificate of {jupyter} (jupyter-bootstrap)",
        jupyter_unit=jupyter,
        user=values.user,
        group=values.group,
        home=values.home,
        environment=values.environment,
        program=values.program,
        arguments=values.arguments,
        privileged_ports=values.privileged_ports,
    )


def render_timer(values: RenewalValues) -> str:
    jupyter = unit_name(values.service_name)
    return templating.render(
        TIMER_TEMPLATE,
        marker=MARKER,
        description=f"Renew the certificate of {jupyter} twice a day (jupyter-bootstrap)",
    )
