"""Service: Jupyter runs as a systemd unit that starts at boot and comes back after a crash,
and is restarted only when something it was started with changed."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from jupyter_bootstrap import port_owner, service_state, service_unit, sudo, systemd
from jupyter_bootstrap.engine import Context, Report, Status, StepError
from jupyter_bootstrap.errors import StepFailed, UserError
from jupyter_bootstrap.files import read_bytes_or_none
from jupyter_bootstrap.run import run, sudo_argv

JOURNAL_LINES = 30
UNKNOWN_START = "no record of what the running server was started with"
FILES_CHANGED = "the certificate, key, config or unit changed since the server started"
NO_SYSTEMD = "fail: pass --no-service to set Jupyter up without a service"


@dataclass(frozen=True)
class ServicePlan:
    """The unit this run wants, and the files a running server has loaded."""

    unit: str  # jupyter.service
    path: Path  # /etc/systemd/system/jupyter.service
    values: service_unit.UnitValues
    text: str
    certfile: Path
    keyfile: Path

    def fingerprint(self) -> str:
        files = [self.certfile, self.keyfile, self.values.config_file]
        return service_state.fingerprint(self.text, files)


def certificate_files(ctx: Context) -> tuple[Path, Path]:
    """What the certificate step found, or (when it was skipped) what the settings say."""
    settings = ctx.settings
    certfile = ctx.facts.certfile or Path(settings.certfile or ctx.paths.default_certfile)
    keyfile = ctx.facts.keyfile or Path(settings.keyfile or ctx.paths.default_keyfile)
    return certfile, keyfile


def unit_values(ctx: Context) -> service_unit.UnitValues:
    # Earlier steps' facts when they ran; otherwise the paths they would have found, so that
    # `--skip jupyter` or `--skip config` still render the same unit.
    jupyter = ctx.facts.jupyter
    return service_unit.UnitValues(
        user=ctx.account.name,
        group=service_unit.group_name(ctx.account.gid),
        notebook_dir=ctx.notebook_dir,
        jupyter_bin=jupyter.jupyter_bin if jupyter else ctx.prefix / "bin" / "jupyter",
        app=ctx.settings.app,
        config_file=ctx.facts.config_file or ctx.paths.server_config,
    )


def plan(ctx: Context) -> ServicePlan:
    values = unit_values(ctx)
    certfile, keyfile = certificate_files(ctx)
    name = ctx.settings.service_name
    try:
        text = service_unit.render(values)
    except ValueError as error:
        raise UserError(
            f"these paths cannot go into a systemd unit: {error}",
            hint="use a --prefix and --notebook-dir without quotes, backslashes, $ or control "
            "characters, or pass --no-service",
        ) from None
    return ServicePlan(
        unit=service_unit.unit_name(name),
        path=service_unit.unit_path(name),
        values=values,
        text=text,
        certfile=certfile,
        keyfile=keyfile,
    )


def refuse_early(ctx: Context, preflight: Report) -> None:
    """init's silent first pass says the service step is bound to fail (no systemd, or sudo
    wants a password nobody can type): the error apply would give, before anything is
    installed or written."""
    outcome = preflight.find("service")
    if outcome is None or outcome.state != "drift" or outcome.found is None:
        return
    if outcome.found.action == NO_SYSTEMD:
        raise StepError("service", no_systemd_error(unit_values(ctx)))
    unit = service_unit.unit_name(ctx.settings.service_name)
    error = sudo.unavailable(f"install and start the {unit} service")
    if error is not None:
        raise StepError("service", error)


def no_systemd_error(values: service_unit.UnitValues) -> UserError:
    return UserError(
        f"systemd is not running on this machine (PID 1 is {systemd.pid1_name()}), so "
        "Jupyter cannot run as a service",
        hint="run `jupyter-bootstrap init --no-service`; then start Jupyter by hand (it stops "
        "when you log out):\n" + values.manual_command(),
    )


def foreign_unit_error(where: Path) -> UserError:
    return UserError(
        f"{where} exists and was not written by jupyter-bootstrap; it is left alone",
        hint="choose another name for our service with --service-name, e.g. "
        "`jupyter-bootstrap init --service-name jupyter-https`",
    )


def read_unit(path: Path) -> Optional[str]:
    data = read_bytes_or_none(path)
    return None if data is None else data.decode("utf-8", errors="replace")


def _refuse_foreign(found: ServicePlan, text: Optional[str], state: systemd.UnitState) -> None:
    if text is not None and not service_unit.is_ours(text):
        raise foreign_unit_error(found.path)
    # A unit of that name elsewhere (/lib/systemd/system, a package's): ours would hide it.
    other = state.fragment_path
    if other and Path(other) != found.path and state.load_state != "not-found":
        raise foreign_unit_error(Path(other))


def restart_reasons(ctx: Context, found: ServicePlan) -> list[str]:
    """Why a running server must be restarted; empty when it runs what we would start."""
    reasons = list(ctx.restart_reasons)
    recorded = service_state.recorded(ctx.paths.state_file, found.unit)
    if recorded != found.fingerprint() and not reasons:
        reasons.append(UNKNOWN_START if recorded is None else FILES_CHANGED)
    return reasons


def _problems(
    ctx: Context, found: ServicePlan, text: Optional[str], state: systemd.UnitState
) -> list[str]:
    problems = []
    if text is None:
        problems.append(f"{found.path} is not installed")
    elif text != found.text:
        problems.append(f"{found.path} differs from the current settings")
    if not state.enabled:
        problems.append(f"{found.unit} is not enabled ({state.unit_file_state or 'no unit'})")
    if not state.active:
        problems.append(f"{found.unit} is not running ({state.describe()})")
    elif text is not None:
        reasons = restart_reasons(ctx, found)
        if reasons:
            problems.append("needs a restart: " + "; ".join(reasons))
    return problems


def running_summary(unit: str, state: systemd.UnitState) -> str:
    uptime = state.uptime_seconds
    since = f" for {systemd.format_duration(uptime)}" if uptime is not None else ""
    pid = f" (pid {state.main_pid})" if state.main_pid else ""
    return f"{unit} enabled, running{since}{pid}"


def _leftover(ctx: Context) -> list[str]:
    """Our unit from before --no-service keeps running: say so (without touching it)."""
    path = service_unit.unit_path(ctx.settings.service_name)
    text = read_unit(path)
    if text is None or not service_unit.is_ours(text):
        return []
    return [
        f"{path} from an earlier run is still installed; `jupyter-bootstrap uninstall` removes it"
    ]


def _add_note(ctx: Context, note: str) -> None:
    if note not in ctx.facts.notes:
        ctx.facts.notes.append(note)


class ServiceStep:
    name = "service"
    title = "systemd service"

    def check(self, ctx: Context) -> Status:
        if ctx.settings.no_service:
            _add_note(
                ctx,
                "no service (--no-service): start Jupyter by hand (it stops when you log "
                "out):\n" + unit_values(ctx).manual_command(),
            )
            return Status.good(
                "not managed (--no-service): Jupyter is started by hand", _leftover(ctx)
            )
        if not systemd.is_booted():
            # Drift, not an error: `status` on such a machine still exits 3. init stops on it
            # before changing anything (refuse_early) and apply explains.
            return Status.drift(
                f"systemd is not running on this machine (PID 1 is {systemd.pid1_name()})",
                NO_SYSTEMD,
            )
        found = plan(ctx)
        text = read_unit(found.path)
        state = systemd.state(found.unit)
        _refuse_foreign(found, text, state)
        problems = _problems(ctx, found, text, state)
        if problems:
            return Status.drift("; ".join(problems), self._action(text, found, state))
        _add_note(
            ctx,
            f"Jupyter runs as the service {found.unit}: it starts at boot and after a crash; "
            "`jupyter-bootstrap logs` shows its log",
        )
        return Status.good(running_summary(found.unit, state))

    @staticmethod
    def _action(text: Optional[str], found: ServicePlan, state: systemd.UnitState) -> str:
        actions = []
        if text != found.text:
            actions.append("install the unit")
        if not state.enabled:
            actions.append("enable it")
        actions.append("restart it" if state.running_or_restarting else "start it")
        return ", ".join(actions)

    def apply(self, ctx: Context, found_status: Status) -> str:
        if not systemd.is_booted():
            raise no_systemd_error(unit_values(ctx))
        found = plan(ctx)
        sudo.ensure(f"install and start the {found.unit} service")
        text = read_unit(found.path)
        state = systemd.state(found.unit)
        _refuse_foreign(found, text, state)
        done = _install_and_enable(found, text, state)
        reasons = restart_reasons(ctx, found)
        if not state.active and state.running_or_restarting:
            reasons = [f"it was {state.describe()}"]  # crash-looping: start afresh
        if not state.active or reasons:
            done.append(_start(ctx, found, state, reasons))
        return ", ".join(done)


def _install_and_enable(
    found: ServicePlan, text: Optional[str], state: systemd.UnitState
) -> list[str]:
    done = []
    if text != found.text:
        install_unit(found.path, found.text)
        # Only now: a reload makes systemd re-read every unit, and is not needed otherwise.
        systemd.daemon_reload()
        done.append(f"{'wrote' if text is None else 'updated'} {found.path}")
    if not state.enabled:
        systemd.enable(found.unit)
        done.append("enabled it")
    return done


def _start(ctx: Context, found: ServicePlan, state: systemd.UnitState, reasons: list[str]) -> str:
    """(Re)start, and remember what the server now runs with (state.json)."""
    check_can_start(ctx, found)
    if state.running_or_restarting:
        systemd.restart(found.unit)
        what = "restarted it (" + "; ".join(reasons) + ")"
    else:
        systemd.start(found.unit)
        what = "started it"
    service_state.record(ctx.paths.state_file, found.unit, found.fingerprint(), ctx.account.owner)
    ctx.restart_reasons.clear()
    ctx.facts.service_started_at = time.monotonic()
    confirm_started(found.unit)
    return what


def install_unit(path: Path, text: str) -> None:
    """Write the unit as root, atomically: a temporary file beside it (a name systemd does
    not load), its final mode, synced, then renamed over the old one."""
    temporary = path.with_name(f".{path.name}.jupyter-bootstrap.tmp")
    what = f"writing {path}"
    run(sudo_argv(["tee", str(temporary)]), input_text=text, what=what)
    run(sudo_argv(["chmod", "0644", str(temporary)]), what=what)
    run(sudo_argv(["sync", str(temporary)]), what=what)
    run(sudo_argv(["mv", "-f", "-T", str(temporary), str(path)]), what=what)


def check_can_start(ctx: Context, found: ServicePlan) -> None:
    """What would make Jupyter fail right after the start, told now and in plain words."""
    user = ctx.account.name
    for path in (found.certfile, found.keyfile):
        if not ctx.account.can_read(path):
            raise StepFailed(
                f"{user} cannot read {path}: Jupyter would start, then fail every TLS handshake",
                hint=f"run `jupyter-bootstrap init` to repair it, or make it readable by {user} "
                f"(ls -l {path})",
            )
    if not found.values.notebook_dir.is_dir():
        raise StepFailed(
            f"the notebook folder {found.values.notebook_dir} does not exist",
            hint="run `jupyter-bootstrap init` (it creates it), or choose one with --notebook-dir",
        )
    if not os.access(found.values.jupyter_bin, os.X_OK):
        raise StepFailed(
            f"{found.values.jupyter_bin} is missing or not executable",
            hint="run `jupyter-bootstrap init` to repair the Jupyter install, or pass --prefix",
        )
    _check_port(ctx.settings.port, found.unit)


def _check_port(port: int, unit: str) -> None:
    others = [h for h in port_owner.holders(port) if not h.in_unit(unit)]
    if not others:
        return
    holder = others[0]
    if holder.pid is None and systemd.state(unit).running_or_restarting:
        return  # most likely our own server, running as a user whose processes we cannot see
    stop = f"stop it (kill {holder.pid})" if holder.pid else "stop it"
    raise StepFailed(
        f"port {port} is already in use by {holder.describe()}",
        hint=f"{stop}, or choose another port: `jupyter-bootstrap init --port {port + 1}`",
    )


def confirm_started(unit: str) -> None:
    """Jupyter that dies at once (bad config, missing module) shows up as failed or
    auto-restarting right after the start: say so with its log instead of waiting."""
    state = systemd.state(unit)
    if state.active or (state.active_state == "activating" and state.sub_state == "start"):
        return
    raise StepFailed(
        f"{unit} did not stay up ({state.describe()})",
        hint="read its log above (`jupyter-bootstrap logs -n 100`); fix the cause and run "
        "`jupyter-bootstrap init` again",
        details=systemd.journal_tail(unit, JOURNAL_LINES),
    )
