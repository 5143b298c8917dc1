"""Every unit of ours that a pass of checks asks systemd about: read in one `systemctl show`
(systemctl.read_together) instead of one each."""

from __future__ import annotations

from collections.abc import Collection

from jupyter_bootstrap.service import idle_units, kernel_units, renewal_units
from jupyter_bootstrap.service.unit import unit_name


def checked_units(service_name: str, no_service: bool, skipped: Collection[str]) -> list[str]:
    """The units the checks of the steps not `skipped` ask about: Jupyter's service, the
    watcher of environments, the stop-when-idle timer, the renewal's service and timer.
    None without a service of ours (nothing asks then). One missing here is only asked
    about on its own."""
    if no_service:
        return []
    by_step = {
        "service": [unit_name(service_name)],
        "kernels": [kernel_units.path_name_for(service_name)],
        "autostop": [idle_units.timer_name_for(service_name)],
        "renewal": [
            renewal_units.service_name_for(service_name),
            renewal_units.timer_name_for(service_name),
        ],
    }
    return [unit for step, units in by_step.items() if step not in skipped for unit in units]
