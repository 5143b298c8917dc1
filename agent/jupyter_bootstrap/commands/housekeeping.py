"""The kernels of the user's environments, idle kernels culled and stopping when idle, as
`status`, `info` and the end of `init` show them: the same words and the same documents
(status --json and info --json) from one place."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Optional

from jupyter_bootstrap import durations, jupyter_config, stop_when_idle
from jupyter_bootstrap.engine import Context
from jupyter_bootstrap.service import idle_units, kernel_units, systemctl
from jupyter_bootstrap.steps.kernels import conda_of, names, sync_plan, watched_folders

if TYPE_CHECKING:
    from jupyter_bootstrap.stop_when_idle import Verdict

TURN_ON = "`jupyter-bootstrap init --stop-when-idle 3h`"


def _managed(ctx: Context) -> bool:
    return not ctx.settings.no_service and systemctl.is_booted()


def _verdict(ctx: Context, now: datetime) -> Verdict:
    # Imported only when stopping when idle is on: it reads Jupyter's activity and the
    # login sessions, which `status` of a machine without it never needs.
    from jupyter_bootstrap.commands.idle import verdict

    return verdict(ctx, now)


# -- words -------------------------------------------------------------------------------------


def kernels_line(ctx: Context) -> str:
    if not ctx.settings.env_kernels:
        return "only the server's own (kernels for environments are off: --env-kernels)"
    plan = sync_plan(ctx)
    made = [w.environment.name for w in plan.current] + [p.name for p, _ in plan.yours]
    now = f"{len(made)} now: {names(made)}" if made else "none yet"
    how = (
        f"made and removed as environments come and go "
        f"({kernel_units.path_name_for(ctx.settings.service_name)})"
        if _managed(ctx)
        else "made by `jupyter-bootstrap kernels sync`"
    )
    return f"one per environment with ipykernel in conda's envs folder, {how}; {now}"


def culling_line(ctx: Context) -> str:
    timeout = ctx.settings.idle_kernel_timeout
    if not timeout:
        return "off: idle kernels and terminals run until you stop them (--idle-kernel-timeout)"
    return (
        f"kernels and terminals idle for {durations.describe(timeout)} are shut down (a kernel "
        "running a cell never is)"
    )


def stop_line(ctx: Context) -> str:
    after = ctx.settings.stop_when_idle
    if not after:
        return f"off ({TURN_ON} powers this machine off after 3 idle hours)"
    return f"{stop_when_idle.what_it_does(after)}. {stop_when_idle.EC2_NOTE}"


def print_fields(ctx: Context) -> None:
    """`Kernels:`, `Culling:` and `Idle stop:` lines (info, the end of init)."""
    console = ctx.console
    console.field("Kernels", kernels_line(ctx))
    console.field("Culling", culling_line(ctx))
    console.field("Idle stop", stop_line(ctx))


def print_idle_now(ctx: Context) -> None:
    """The state of stopping when idle right now (status): how long idle, when it fires."""
    if not ctx.settings.stop_when_idle or not _managed(ctx):
        return
    found = _verdict(ctx, datetime.now(timezone.utc))
    ctx.console.field("Idle stop", found.reason)


# -- documents ---------------------------------------------------------------------------------


def kernels_document(ctx: Context) -> dict[str, Any]:
    plan = sync_plan(ctx)
    managed = ctx.settings.env_kernels and _managed(ctx)
    return {
        "enabled": ctx.settings.env_kernels,
        "folders": [str(folder) for folder in watched_folders(ctx)],
        "watcher": kernel_units.path_name_for(ctx.settings.service_name) if managed else None,
        "kernels": [
            {
                "name": wanted.name,
                "display_name": f"Python ({wanted.environment.name})",
                "environment": str(wanted.environment),
            }
            for wanted in plan.current
        ],
        "yours": [{"environment": str(path), "kernelspec": name} for path, name in plan.yours],
        "without_ipykernel": [
            {
                "environment": str(environment.path),
                "add_command": environment.add_ipykernel(conda_of(ctx, environment)),
            }
            for environment in plan.without_ipykernel
        ],
    }


def culling_document(ctx: Context) -> dict[str, Any]:
    timeout = ctx.settings.idle_kernel_timeout
    return {
        "enabled": bool(timeout),
        "idle_timeout_seconds": timeout or None,
        "idle_timeout": durations.describe(timeout) if timeout else None,
        "check_interval_seconds": jupyter_config.cull_interval(timeout) if timeout else None,
        "busy_kernels": False,
        "connected_kernels": bool(timeout),
        "terminals": bool(timeout),
    }


def stop_when_idle_document(ctx: Context, now: Optional[datetime] = None) -> dict[str, Any]:
    """The setting; with `now` (status) also the state right now."""
    after = ctx.settings.stop_when_idle
    document: dict[str, Any] = {
        "enabled": bool(after),
        "after_seconds": after or None,
        "after": durations.describe(after) if after else None,
        "timer": idle_units.timer_name_for(ctx.settings.service_name) if after else None,
        "warning": stop_when_idle.EC2_NOTE if after else None,
    }
    if now is None:
        return document
    document.update(state=None, reason=None, idle_seconds=None, idle_since=None, fires_at=None)
    if after and _managed(ctx):
        found = _verdict(ctx, now)
        document.update(
            state=found.state,
            reason=found.reason,
            idle_seconds=found.idle_seconds(now),
            idle_since=stop_when_idle.iso(found.idle_since) if found.idle_since else None,
            fires_at=stop_when_idle.iso(found.due_at) if found.due_at else None,
        )
    return document
