"""Stop when idle, as the timer and `status` see it: one look at the machine (is Jupyter
running, what does it say about its activity, who is logged in) and the verdict.

`jupyter-bootstrap idle-check` is the condition of the power-off unit: exit 0 only when the
machine has been idle long enough, 1 otherwise (and for anything unexpected: a crash of
the check must leave the machine on). It prints why, which goes to the journal."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

import click

from jupyter_bootstrap import jupyter_activity, jupyter_config, login_sessions, stop_when_idle
from jupyter_bootstrap.engine import Context
from jupyter_bootstrap.errors import BootstrapError
from jupyter_bootstrap.service import systemctl, unit
from jupyter_bootstrap.steps.health import probe_target
from jupyter_bootstrap.stop_when_idle import Activity, Observation, Verdict

POWER_OFF = 0
STAY_ON = 1


def _token(ctx: Context) -> str:
    for path in (ctx.paths.server_config, ctx.paths.notebook_config):
        try:
            token = jupyter_config.block_token(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue
        if token:
            return token
    return ""


def observe(ctx: Context) -> Observation:
    name = unit.unit_name(ctx.settings.service_name)
    state = systemctl.state(name)
    activity, problem = None, None
    if state.active:
        activity, problem = _activity(ctx)
    return Observation(
        unit=name,
        running=state.active,
        unit_state=state.describe(),
        activity=activity,
        activity_problem=problem,
        sessions=login_sessions.open_sessions(),
        last_in_use=stop_when_idle.last_in_use(ctx.paths.state_dir),
    )


def _activity(ctx: Context) -> tuple[Optional[Activity], Optional[str]]:
    token = _token(ctx)
    if not token:
        return None, "the config has no API token yet: `jupyter-bootstrap init` adds it"
    try:
        return jupyter_activity.read(probe_target(ctx), token), None
    except jupyter_activity.ActivityUnavailable as error:
        return None, str(error)


def verdict(ctx: Context, now: datetime) -> Verdict:
    """What the timer's next look would decide; for `status` (it records nothing)."""
    try:
        seen = observe(ctx)
    except BootstrapError as error:
        return Verdict("unknown", f"the machine's state cannot be read ({error.message})")
    return stop_when_idle.decide(now, ctx.settings.stop_when_idle, seen)


def idle_check(ctx: Context) -> int:
    if not ctx.settings.stop_when_idle:
        click.echo("stop-when-idle is off: the machine stays on")
        return STAY_ON
    now = datetime.now(timezone.utc)
    found = stop_when_idle.decide(now, ctx.settings.stop_when_idle, observe(ctx))
    if found.in_use:
        stop_when_idle.record_in_use(ctx.paths.state_dir, now, ctx.account.owner)
    click.echo(found.reason)
    return POWER_OFF if found.power_off else STAY_ON
