"""Autostop (`--stop-when-idle 3h`, off by default): a timer looks every few minutes whether
Jupyter has had no activity and nobody has been logged in for that long, and if so powers
the machine off; on EC2 that stops an EBS-backed instance. The look is made by the agent
as the login user; only the power-off itself runs as root (the unit template says why).

The look needs Jupyter's API token, which the config step writes into the managed block
while this is on: turning it on or off restarts Jupyter once, through that step."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import NamedTuple, Optional

from jupyter_bootstrap import durations, stop_when_idle
from jupyter_bootstrap.engine import Context, Status, drift, good
from jupyter_bootstrap.errors import UserError
from jupyter_bootstrap.service import extra_units, idle_units, systemctl
from jupyter_bootstrap.service.agent_run import agent_run
from jupyter_bootstrap.service.extra_units import UnitsPlan


class AutostopPlan(NamedTuple):
    units: UnitsPlan

    @property
    def action(self) -> str:
        if self.units.remove:
            return "remove the stop-when-idle timer"
        return "install and start the stop-when-idle timer"

    @property
    def restart_reason(self) -> Optional[str]:
        return None  # the token it needs is the config step's change


def wanted_units(ctx: Context) -> list[extra_units.UnitFile]:
    """The power-off service, then its trigger, the timer."""
    after = ctx.settings.stop_when_idle
    account = ctx.account
    values = idle_units.IdleUnitValues(
        service_name=ctx.settings.service_name,
        run=agent_run(account.name, account.gid, account.home),
        after=after,
        interval=stop_when_idle.check_interval(after),
    )
    name = ctx.settings.service_name
    return [
        extra_units.unit_file(idle_units.service_name_for(name), idle_units.render_service(values)),
        extra_units.unit_file(idle_units.timer_name_for(name), idle_units.render_timer(values)),
    ]


class AutostopStep:
    name = "autostop"

    def check(self, ctx: Context) -> Status[AutostopPlan]:
        after = ctx.settings.stop_when_idle
        if after and ctx.settings.no_service:
            raise UserError(
                "--stop-when-idle needs the systemd service, and --no-service was chosen",
                hint="pass --service (or leave --no-service out), or --stop-when-idle off",
            )
        if ctx.settings.no_service or not systemctl.is_booted():
            return good("off (it needs the systemd service)")
        wanted = wanted_units(ctx)
        on_disk = extra_units.read_ours(wanted)
        trigger = systemctl.state(wanted[-1].name)
        problems, plan = extra_units.decide(wanted, on_disk, trigger, keep=bool(after))
        if plan is not None:
            return drift("; ".join(problems), AutostopPlan(plan))
        if not after:
            return good("off (`--stop-when-idle 3h` powers the machine off after 3 idle hours)")
        return good(
            f"{stop_when_idle.what_it_does(after)} ({wanted[-1].name})",
            warnings=[stop_when_idle.EC2_NOTE],
        )

    def apply(self, ctx: Context, plan: AutostopPlan) -> str:
        extra_units.carry_out(plan.units)
        if plan.units.remove:
            return "removed the stop-when-idle timer: the machine no longer powers itself off"
        # The idle time counts from now: a machine idle for hours before this run must not
        # power off at the timer's first look.
        stop_when_idle.record_in_use(
            ctx.paths.state_dir, datetime.now(timezone.utc), ctx.account.owner
        )
        after = durations.describe(ctx.settings.stop_when_idle)
        return f"{plan.units.trigger} powers the machine off after {after} idle"
