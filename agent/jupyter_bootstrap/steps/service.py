"""Service: Jupyter runs as a systemd unit that starts at boot and comes back after a crash,
and is restarted only when something it was started with changed."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from jupyter_bootstrap import sudo
from jupyter_bootstrap.engine import Context, Status, drift, good
from jupyter_bootstrap.errors import StepFailed, UserError
from jupyter_bootstrap.service import journal as service_journal
from jupyter_bootstrap.service import port_owner, started, systemctl
from jupyter_bootstrap.service import unit as units
from jupyter_bootstrap.service.systemctl import UnitState

JOURNAL_LINES = 30
UNKNOWN_START = "no record of what the running server was started with"
FILES_CHANGED = "the certificate, key, config or unit changed since the server started"


@dataclass(frozen=True)
class Wanted:
    """The unit this run wants, and the files a running server has loaded."""

    unit: str  # jupyter.service
    path: Path  # /etc/systemd/system/jupyter.service
    values: units.UnitValues
    text: str
    certfile: Path
    keyfile: Path

    def fingerprint(self) -> str:
        return started.fingerprint(
            self.text, [self.certfile, self.keyfile, self.values.config_file]
        )


@dataclass(frozen=True)
class ServicePlan:
    """What to do to the unit: every decision made by the check, none left to apply."""

    wanted: Wanted
    write_unit: bool  # the file is missing or differs: write it, then daemon-reload
    enable: bool
    # "start" (nothing runs), "restart" (it runs or is coming up), or None: leave it be.
    start: Optional[str]
    reasons: tuple[str, ...]  # why a restart (empty for a plain start)
    installed: bool  # a unit file of ours is already there (says "updated", not "wrote")

    @property
    def action(self) -> str:
        actions = []
        if self.write_unit:
            actions.append("install the unit")
        if self.enable:
            actions.append("enable it")
        if self.start:
            actions.append(f"{self.start} it")
        return ", ".join(actions)

    @property
    def restart_reason(self) -> Optional[str]:
        return None  # this step is the one that restarts


@dataclass(frozen=True)
class NoSystemd:
    """systemd is not PID 1: there is nothing to install a service into."""

    values: units.UnitValues

    @property
    def action(self) -> str:
        return "fail: pass --no-service to set Jupyter up without a service"

    @property
    def restart_reason(self) -> Optional[str]:
        return None


Plan = Union[ServicePlan, NoSystemd]


def unit_values(ctx: Context) -> units.UnitValues:
    # Earlier steps' facts when they ran; otherwise the paths they would have found, so that
    # `--skip jupyter` or `--skip config` still render the same unit.
    jupyter = ctx.facts.jupyter
    return units.UnitValues(
        user=ctx.account.name,
        group=units.group_name(ctx.account.gid),
        notebook_dir=ctx.notebook_dir,
        jupyter_bin=jupyter.jupyter_bin if jupyter else ctx.prefix / "bin" / "jupyter",
        app=ctx.settings.app,
        config_file=ctx.facts.config_file or ctx.paths.server_config,
    )


def wanted(ctx: Context) -> Wanted:
    values = unit_values(ctx)
    certfile, keyfile = ctx.certificate_files
    name = ctx.settings.service_name
    try:
        text = units.render(values)
    except ValueError as error:
        raise UserError(
            f"these paths cannot go into a systemd unit: {error}",
            hint="use a --prefix and --notebook-dir without quotes, backslashes, $ or control "
            "characters, or pass --no-service",
        ) from None
    return Wanted(
        unit=units.unit_name(name),
        path=units.unit_path(name),
        values=values,
        text=text,
        certfile=certfile,
        keyfile=keyfile,
    )


def no_systemd_error(values: units.UnitValues) -> UserError:
    return systemctl.not_booted_error(
        "Jupyter cannot run as a service",
        hint="run `jupyter-bootstrap init --no-service`; then start Jupyter by hand (it stops "
        "when you log out):\n" + values.manual_command(),
    )


def restart_reasons(ctx: Context, want: Wanted) -> list[str]:
    """Why a running server must be restarted; empty when it runs what we would start."""
    reasons = list(ctx.run.restart_reasons)
    recorded = started.recorded(ctx.paths.state_file, want.unit)
    if recorded != want.fingerprint() and not reasons:
        reasons.append(UNKNOWN_START if recorded is None else FILES_CHANGED)
    return reasons


def decide(
    want: Wanted, text: Optional[str], state: UnitState, reasons: list[str]
) -> tuple[list[str], Optional[ServicePlan]]:
    """The whole decision, from facts alone: what is wrong, and the plan that fixes it.
    `text` is the unit file on disk (None: none), `state` what systemd reports, `reasons`
    what would make a running server stale."""
    problems = []
    if text is None:
        problems.append(f"{want.path} is not installed")
    elif text != want.text:
        problems.append(f"{want.path} differs from the current settings")
    if not state.enabled:
        problems.append(f"{want.unit} is not enabled ({state.unit_file_state or 'no unit'})")
    start: Optional[str] = None
    if not state.active:
        problems.append(f"{want.unit} is not running ({state.describe()})")
        if state.running_or_restarting:
            # Coming up or crash-looping: start it afresh.
            start, reasons = "restart", [f"it was {state.describe()}"]
        else:
            start = "start"
    elif reasons:
        if text is not None:
            problems.append("needs a restart: " + "; ".join(reasons))
        start = "restart"
    if not problems:
        return problems, None
    plan = ServicePlan(
        wanted=want,
        write_unit=text != want.text,
        enable=not state.enabled,
        start=start,
        reasons=tuple(reasons) if start == "restart" else (),
        installed=text is not None,
    )
    return problems, plan


def running_summary(unit: str, state: UnitState) -> str:
    uptime = state.uptime_seconds
    since = f" for {systemctl.format_duration(uptime)}" if uptime is not None else ""
    pid = f" (pid {state.main_pid})" if state.main_pid else ""
    return f"{unit} enabled, running{since}{pid}"


def _leftover(ctx: Context) -> list[str]:
    """Our unit from before --no-service keeps running: say so (without touching it)."""
    path = units.unit_path(ctx.settings.service_name)
    text = units.read(path)
    if text is None or not units.is_ours(text):
        return []
    return [
        f"{path} from an earlier run is still installed; `jupyter-bootstrap uninstall` removes it"
    ]


class ServiceStep:
    name = "service"

    def check(self, ctx: Context) -> Status[Plan]:
        if ctx.settings.no_service:
            ctx.run.note(
                "no service (--no-service): start Jupyter by hand (it stops when you log "
                "out):\n" + unit_values(ctx).manual_command()
            )
            return good("not managed (--no-service): Jupyter is started by hand", _leftover(ctx))
        if not systemctl.is_booted():
            # Drift, not an error: `status` on such a machine still exits 3. A converging
            # command stops on it in the preflight (refuse_early), before changing anything.
            return drift(systemctl.not_booted(), NoSystemd(unit_values(ctx)))
        want = wanted(ctx)
        text = units.read(want.path)
        state = systemctl.state(want.unit)
        units.refuse_foreign(want.path, text, state)
        problems, plan = decide(want, text, state, restart_reasons(ctx, want))
        if plan is not None:
            return drift("; ".join(problems), plan)
        ctx.run.note(
            f"Jupyter runs as the service {want.unit}: it starts at boot and after a crash; "
            "`jupyter-bootstrap logs` shows its log"
        )
        return good(running_summary(want.unit, state))

    def refuse_early(self, ctx: Context, plan: Plan) -> None:
        """No systemd, or sudo wants a password nobody can type: the error apply would end
        in, before anything is installed or written."""
        if isinstance(plan, NoSystemd):
            raise no_systemd_error(plan.values)
        error = sudo.unavailable(f"install and start the {plan.wanted.unit} service")
        if error is not None:
            raise error

    def apply(self, ctx: Context, plan: Plan) -> str:
        if isinstance(plan, NoSystemd):
            raise no_systemd_error(plan.values)
        want = plan.wanted
        sudo.ensure(f"install and start the {want.unit} service")
        done = []
        if plan.write_unit:
            units.install(want.path, want.text)
            # Only now: a reload makes systemd re-read every unit, and is not needed otherwise.
            systemctl.daemon_reload()
            done.append(f"{'updated' if plan.installed else 'wrote'} {want.path}")
        if plan.enable:
            systemctl.enable(want.unit)
            done.append("enabled it")
        if plan.start:
            done.append(_start(ctx, plan))
        return ", ".join(done)


def _start(ctx: Context, plan: ServicePlan) -> str:
    """(Re)start, and remember what the server now runs with (state.json)."""
    want = plan.wanted
    check_can_start(ctx, want)
    if plan.start == "restart":
        systemctl.restart(want.unit)
        what = "restarted it (" + "; ".join(plan.reasons) + ")"
    else:
        systemctl.start(want.unit)
        what = "started it"
    started.record(ctx.paths.state_file, want.unit, want.fingerprint(), ctx.account.owner)
    ctx.run.restart_reasons.clear()
    ctx.run.service_started_at = time.monotonic()
    confirm_started(want.unit)
    return what


def check_can_start(ctx: Context, want: Wanted) -> None:
    """What would make Jupyter fail right after the start, told now and in plain words."""
    user = ctx.account.name
    for path in (want.certfile, want.keyfile):
        if not ctx.account.can_read(path):
            raise StepFailed(
                f"{user} cannot read {path}: Jupyter would start, then fail every TLS handshake",
                hint=f"run `jupyter-bootstrap init` to repair it, or make it readable by {user} "
                f"(ls -l {path})",
            )
    if not want.values.notebook_dir.is_dir():
        raise StepFailed(
            f"the notebook folder {want.values.notebook_dir} does not exist",
            hint="run `jupyter-bootstrap init` (it creates it), or choose one with --notebook-dir",
        )
    if not os.access(want.values.jupyter_bin, os.X_OK):
        raise StepFailed(
            f"{want.values.jupyter_bin} is missing or not executable",
            hint="run `jupyter-bootstrap init` to repair the Jupyter install, or pass --prefix",
        )
    _check_port(ctx.settings.port, want.unit)


def _check_port(port: int, unit: str) -> None:
    others = [h for h in port_owner.holders(port) if not h.in_unit(unit)]
    if not others:
        return
    holder = others[0]
    if holder.pid is None and systemctl.state(unit).running_or_restarting:
        return  # most likely our own server, running as a user whose processes we cannot see
    stop = f"stop it (kill {holder.pid})" if holder.pid else "stop it"
    raise StepFailed(
        f"port {port} is already in use by {holder.describe()}",
        hint=f"{stop}, or choose another port: `jupyter-bootstrap init --port {port + 1}`",
    )


def confirm_started(unit: str) -> None:
    """Jupyter that dies at once (bad config, missing module) shows up as failed or
    auto-restarting right after the start: say so with its log instead of waiting."""
    state = systemctl.state(unit)
    if state.active or (state.active_state == "activating" and state.sub_state == "start"):
        return
    raise StepFailed(
        f"{unit} did not stay up ({state.describe()})",
        hint="read its log above (`jupyter-bootstrap logs -n 100`); fix the cause and run "
        "`jupyter-bootstrap init` again",
        details=service_journal.journal_tail(unit, JOURNAL_LINES),
    )
