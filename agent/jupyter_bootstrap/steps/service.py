"""Service: Jupyter runs as a systemd unit that starts at boot and comes back after a crash,
and is restarted only when something it was started with changed."""

from __future__ import annotations

import contextlib
import enum
import os
import signal
import time
from pathlib import Path
from typing import NamedTuple, Optional, Union

from jupyter_bootstrap import sudo
from jupyter_bootstrap.console import duration
from jupyter_bootstrap.engine import Context, Status, drift, good
from jupyter_bootstrap.errors import StepFailed, UserError
from jupyter_bootstrap.service import journal as service_journal
from jupyter_bootstrap.service import port_owner, process, started, systemctl
from jupyter_bootstrap.service import unit as units
from jupyter_bootstrap.service.systemctl import UnitState

JOURNAL_LINES = 30
PRIVILEGED_PORTS = 1024  # below this, binding needs CAP_NET_BIND_SERVICE
UNKNOWN_START = "no record of what the running server was started with"
FILES_CHANGED = "the config or the unit changed since the server started"
UNIT_EDITED = "its unit file was changed by someone else since the server started"


class Wanted(NamedTuple):
    """The unit this run wants, and the files a running server has loaded."""

    unit: str  # jupyter.service
    path: Path  # /etc/systemd/system/jupyter.service
    values: units.UnitValues
    text: str
    certfile: Path
    keyfile: Path

    def fingerprint(self) -> str:
        return started.server_fingerprint(self.text, self.values.config_file)


class Start(str, enum.Enum):
    """How the server is brought up: started (nothing runs) or restarted (a process of it
    is there, running or coming up)."""

    START = "start"
    RESTART = "restart"


class ServicePlan(NamedTuple):
    """What to do to the unit: every decision made by the check, none left to apply."""

    wanted: Wanted
    write_unit: bool  # the file is missing or differs: write it
    # systemd must re-read the unit: we write it, or the file changed since it was loaded.
    reload: bool
    enable: bool
    start: Optional[Start]  # None: leave the running server be
    reasons: tuple[str, ...]  # why a restart (empty for a plain start)
    installed: bool  # a unit file of ours is already there (says "updated", not "wrote")
    # A Jupyter of the user's, started by hand, that holds the port: stopped first
    # (--replace-running).
    replace: Optional[int] = None

    @property
    def action(self) -> str:
        actions = []
        if self.write_unit:
            actions.append("install the unit")
        elif self.reload:
            actions.append("reload it")
        if self.replace is not None:
            actions.append(f"stop the Jupyter started by hand (pid {self.replace})")
        if self.enable:
            actions.append("enable it")
        if self.start:
            actions.append(f"{self.start.value} it")
        return ", ".join(actions)

    @property
    def restart_reason(self) -> Optional[str]:
        return None  # this step is the one that restarts


class NoSystemd(NamedTuple):
    """systemd is not PID 1: there is nothing to install a service into."""

    values: units.UnitValues

    @property
    def action(self) -> str:
        return "fail: pass --no-service to set Jupyter up without a service"

    @property
    def restart_reason(self) -> Optional[str]:
        return None


class OthersUnit(NamedTuple):
    """Our unit, written for another login user of this machine: not taken over silently
    (their server would stop, and they would meet a unit that is not theirs)."""

    path: Path
    owner: str
    user: str

    @property
    def action(self) -> str:
        return "fail: pass --service-name for a unit of your own, or --force to take it over"

    @property
    def restart_reason(self) -> Optional[str]:
        return None


Plan = Union[ServicePlan, NoSystemd, OthersUnit]


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
        privileged_port=ctx.settings.port < PRIVILEGED_PORTS,
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


def restart_reasons(
    ctx: Context, want: Wanted, state: UnitState, main: Optional[process.Process]
) -> list[str]:
    """Why a running server must be restarted; empty when it runs what we would start.
    What systemd and /proc say comes first: our own record of the last start cannot see a
    unit edited and restarted by hand, or by another user's init."""
    reasons = list(ctx.run.restart_reasons)
    if ctx.run.service_started_at is None:
        # Not right after our own (re)start: that process is the unit we just installed, and
        # a process still starting up shows a command line that is not its final one.
        reasons += running_differs(want, state, main)
    recorded = started.recorded(ctx.paths.state_file, want.unit)
    if recorded != want.fingerprint() and not reasons:
        reasons.append(UNKNOWN_START if recorded is None else FILES_CHANGED)
    return reasons


def running_differs(want: Wanted, state: UnitState, main: Optional[process.Process]) -> list[str]:
    """How what systemd runs differs from the unit we want (empty: it runs ours). `main` is
    the unit's main process; one outside the unit's cgroup tells nothing and is ignored,
    and so is a command line that is not Jupyter's yet (systemd's child before its exec).
    Whom it runs as is the loaded User= (a just-forked child is still root for a moment)."""
    if not state.running_or_restarting:
        return []
    differs = []
    if state.user and state.user != want.values.user:
        differs.append(f"systemd runs it as {state.user}, not {want.values.user}")
    if main is not None and main.in_unit(want.unit):
        wanted_arguments = [f"--config={want.values.config_file}"]
        arguments = jupyter_arguments(main.argv)
        if arguments is not None and arguments != wanted_arguments:
            shown = " ".join(arguments) or "no arguments"
            differs.append(f"the running server was started with {shown}")
    return differs


def _jupyter_at(argv: tuple[str, ...]) -> Optional[int]:
    """Where the jupyter program is in a command line: first (`jupyter-notebook ...`) or the
    script an interpreter runs (`python .../jupyter-notebook ...`); None: not Jupyter."""
    for index, argument in enumerate(argv[:2]):
        if Path(argument).name.startswith("jupyter"):
            return index
    return None


def is_jupyter(argv: tuple[str, ...]) -> bool:
    return _jupyter_at(argv) is not None


def jupyter_arguments(argv: tuple[str, ...]) -> Optional[list[str]]:
    """The options Jupyter was started with, from its command line: `python .../jupyter
    notebook --config=X` or, once jupyter has exec'd its subcommand, `python
    .../jupyter-notebook --config=X`. None when there is nothing to compare: not Jupyter,
    or no options at all (a process caught between its two execs, right after a restart,
    has not got them back yet; ours always has some)."""
    index = _jupyter_at(argv)
    if index is None:
        return None
    rest = list(argv[index + 1 :])
    if rest and rest[0] in ("notebook", "lab"):
        rest = rest[1:]
    return rest or None


def decide(
    want: Wanted,
    text: Optional[str],
    state: UnitState,
    reasons: list[str],
    holder: Optional[str] = None,
) -> tuple[list[str], Optional[ServicePlan]]:
    """The whole decision, from facts alone: what is wrong, and the plan that fixes it.
    `text` is the unit file on disk (None: none), `state` what systemd reports, `reasons`
    what would make a running server stale, `holder` what holds the port instead of the
    running unit's server (None: nothing does, as far as is known)."""
    problems: list[str] = []
    if text is None:
        problems.append(f"{want.path} is not installed")
    elif text != want.text:
        problems.append(f"{want.path} differs from the current settings")
    if not state.enabled:
        problems.append(f"{want.unit} is not enabled ({state.unit_file_state or 'no unit'})")
    start: Optional[Start] = None
    if not state.active:
        problems.append(f"{want.unit} is not running ({state.describe()})")
        if state.running_or_restarting:
            # Coming up or crash-looping: start it afresh.
            start, reasons = Start.RESTART, [f"it was {state.describe()}"]
        else:
            start = Start.START
    elif holder is not None:
        # Its server cannot bind, so systemd restarts it in a loop, and in between it looks
        # running. Once the port is free a restart brings it back: the preflight refuses,
        # naming the holder, or (--replace-running) apply stops a Jupyter started by hand.
        problems.append(f"{want.unit} keeps restarting: Jupyter cannot start while {holder}")
        start, reasons = Start.RESTART, ["its port was in use", *reasons]
    elif reasons or (text is not None and text != want.text):
        # A unit file that differs from ours while the server runs: whatever started it, a
        # restart is the only way to know it runs ours.
        reasons = reasons or [UNIT_EDITED]
        if text is not None:
            problems.append("needs a restart: " + "; ".join(reasons))
        start = Start.RESTART
    if state.need_daemon_reload and not problems:
        # Touched, or a drop-in changed: systemd re-reads it; what runs is still ours (the
        # checks above compare that), so no restart.
        problems.append("its unit file changed since systemd loaded it")
    if not problems:
        return problems, None
    write_unit = text != want.text
    plan = ServicePlan(
        wanted=want,
        write_unit=write_unit,
        reload=write_unit or state.need_daemon_reload,
        enable=not state.enabled,
        start=start,
        reasons=tuple(reasons) if start is Start.RESTART else (),
        installed=text is not None,
    )
    return problems, plan


def running_summary(unit: str, state: UnitState) -> str:
    uptime = state.uptime_seconds
    since = f" for {duration(uptime)}" if uptime is not None else ""
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
        owner = units.user_of(text) if text is not None and units.is_ours(text) else None
        if owner is not None and owner != want.values.user and not ctx.options.force:
            others = OthersUnit(want.path, owner, want.values.user)
            return drift(f"{want.path} runs Jupyter for {owner}, not for {others.user}", others)
        main = process.read(state.main_pid) if state.main_pid else None
        reasons = restart_reasons(ctx, want, state, main)
        replace = self._replaceable(ctx, want.unit)
        holder = _holder_instead(ctx, want.unit, state, replace) if state.active else None
        problems, plan = decide(want, text, state, reasons, holder)
        if plan is not None and replace is not None:
            # (Said only with a plan: with none, nothing of ours starts, and nothing is
            # stopped.)
            ctx.run.found(
                f"Jupyter started by hand (pid {replace.pid}) on port {ctx.settings.port}: "
                "stopped before ours starts (--replace-running)"
            )
            plan = plan._replace(replace=replace.pid)
        if plan is not None:
            return drift("; ".join(problems), plan)
        ctx.run.note(
            f"Jupyter runs as the service {want.unit}: it starts at boot and after a crash; "
            "`jupyter-bootstrap logs` shows its log"
        )
        return good(running_summary(want.unit, state))

    @staticmethod
    def _replaceable(ctx: Context, unit: str) -> Optional[process.Process]:
        if not ctx.options.replace_running:
            return None
        return hand_started_jupyter(ctx.settings.port, unit, ctx.account.uid)

    def refuse_early(self, ctx: Context, plan: Optional[Plan]) -> None:
        """What would fail later, said before anything is installed or written: no systemd,
        sudo that wants a password nobody can type, or a port another program holds (so a
        refused port change leaves settings and config as they were)."""
        if isinstance(plan, NoSystemd):
            raise no_systemd_error(plan.values)
        if isinstance(plan, OthersUnit):
            raise others_unit_error(plan)
        if ctx.settings.no_service or _serving(ctx, plan):
            return
        unit = units.unit_name(ctx.settings.service_name)
        replace = self._replaceable(ctx, unit)
        refuse_taken_port(ctx.settings.port, unit, ctx.account.uid, replace)
        if plan is not None:
            error = sudo.unavailable(f"install and start the {unit} service")
            if error is not None:
                raise error

    def ask_first(self, ctx: Context, plan: Plan) -> None:
        """sudo's own password, asked with the other questions: a user whom sudo refuses
        learns it now, not after a ten-minute download."""
        if isinstance(plan, ServicePlan):
            sudo.ensure(f"install and start the {plan.wanted.unit} service")

    def apply(self, ctx: Context, plan: Plan) -> str:
        if isinstance(plan, NoSystemd):
            raise no_systemd_error(plan.values)
        if isinstance(plan, OthersUnit):
            raise others_unit_error(plan)
        want = plan.wanted
        sudo.ensure(f"install and start the {want.unit} service")
        done = []
        if plan.write_unit:
            units.install(want.path, want.text)
            done.append(f"{'updated' if plan.installed else 'wrote'} {want.path}")
        if plan.reload and not plan.enable:
            # Only now: a reload makes systemd re-read every unit, and is not needed otherwise
            # (enabling, below, reloads by itself).
            systemctl.daemon_reload()
            if not plan.write_unit:
                done.append("reloaded it")
        if plan.enable:
            systemctl.enable(want.unit)
            done.append("enabled it")
        if plan.start:
            done.append(_start(ctx, plan))
        return ", ".join(done)


def _start(ctx: Context, plan: ServicePlan) -> str:
    """(Re)start, and remember what the server now runs with (state.json)."""
    want = plan.wanted
    stopped = ""
    if plan.replace is not None:
        stop_process(plan.replace)
        stopped = f"stopped the Jupyter started by hand (pid {plan.replace}), "
    check_can_start(ctx, want)
    if plan.start is Start.RESTART:
        systemctl.restart(want.unit)
        what = "restarted it (" + "; ".join(plan.reasons) + ")"
    else:
        systemctl.start(want.unit)
        what = "started it"
    started.record(ctx.paths.state_file, want.unit, want.fingerprint(), ctx.account.owner)
    ctx.run.restart_reasons.clear()
    ctx.run.service_started_at = time.monotonic()
    confirm_started(want.unit)
    return stopped + what


def stop_process(pid: int, grace: float = 10.0) -> None:
    """SIGTERM (Jupyter shuts its kernels down cleanly), then SIGKILL after `grace` s. A
    pidfd names the process itself, so a pid reused meanwhile is never signalled."""
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        with contextlib.suppress(ProcessLookupError):
            signal.pidfd_send_signal(handle, signal.SIGTERM)
            deadline = time.monotonic() + grace
            while process.read(pid) is not None and time.monotonic() < deadline:
                time.sleep(0.1)
            if process.read(pid) is not None:
                signal.pidfd_send_signal(handle, signal.SIGKILL)
    finally:
        os.close(handle)


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
    _check_port(ctx.settings.port, want.unit, ctx.account.uid)


def hand_started_jupyter(port: int, unit: str, uid: int) -> Optional[process.Process]:
    """A Jupyter of this user's, started by hand (`nohup jupyter notebook &`), that holds
    `port`: the one kind of holder init may stop to take the port over."""
    for holder in port_owner.holders(port):
        if holder.pid is None or holder.in_unit(unit):
            continue
        found = process.read(holder.pid)
        if found is not None and found.uid == uid and is_jupyter(found.argv):
            return found
    return None


def port_taken(
    port: int,
    unit: str,
    uid: int,
    replace: Optional[process.Process] = None,
    holders: Optional[list[port_owner.PortHolder]] = None,
) -> Optional[tuple[str, str]]:
    """(what holds `port`, what to do), or None when it is free, our unit holds it, or it is
    `replace` (to be stopped first). A holder we cannot see is taken for ours only when it
    is this user's and our unit runs. `holders`: the port's, when they were just looked up."""
    others = [
        h
        for h in (port_owner.holders(port) if holders is None else holders)
        if not h.in_unit(unit) and (replace is None or h.pid != replace.pid)
    ]
    if any(_hidden_server(h, uid) for h in others) and systemctl.state(unit).running_or_restarting:
        others = [h for h in others if not _hidden_server(h, uid)]
    if not others:
        return None
    holder = others[0]
    stop = f"stop it (kill {holder.pid})" if holder.pid else "stop it"
    if holder.pid is not None and hand_started_jupyter(port, unit, uid) is not None:
        stop += ", or let init stop it and take over: `jupyter-bootstrap init --replace-running`"
    return (
        f"port {port} is already in use by {holder.describe()}",
        f"{stop}, or choose another port: `jupyter-bootstrap init --port {port + 1}`",
    )


def _hidden_server(holder: port_owner.PortHolder, uid: int) -> bool:
    """A socket of this user whose process we may not look into: while our unit runs, that
    is its Jupyter holding CAP_NET_BIND_SERVICE (a port below 1024)."""
    return holder.pid is None and holder.uid == uid


def _serving(ctx: Context, plan: Optional[Plan]) -> bool:
    """Whether the preflight's pass found our server running as wanted (no plan for this
    step) and answering on the port (the health check ok). Nothing of ours will be started
    then, and nobody else can hold that port: scanning every process's sockets for a holder
    would cost a no-op init more than most of its checks (the kernel walks its whole socket
    table to print /proc/net/tcp).

    A unit that systemd keeps restarting because another program holds its port looks
    running for a moment, and a Jupyter started by hand with our config answers the health
    check: the check looked for the holder then (systemd had restarted the unit on its own)
    and planned a restart. A health check that failed or was skipped means a look at the
    port too; apply looks again before it starts anything."""
    if plan is not None or ctx.run.checked is None:
        return False
    health = ctx.run.checked.report.find("health")
    return health is not None and health.state == "ok"


def _holder_instead(
    ctx: Context, unit: str, state: UnitState, replace: Optional[process.Process]
) -> Optional[str]:
    """What holds the port while `unit` runs, when the unit's own server does not (None: it
    does, or nothing hints that it may not). Looked at only when systemd restarted the unit
    on its own since it was last started (or cannot say), or when --replace-running found a
    Jupyter started by hand there: a server that never had to be restarted holds its port,
    and scanning every process's sockets would cost each check more than most others."""
    if replace is None and state.restarts == 0:
        return None
    port = ctx.settings.port
    holders = port_owner.holders(port)
    # Two sockets may share a port on different addresses (127.0.0.1 and a private one):
    # while the unit's own server listens, it is serving, whatever else is there.
    uid = ctx.account.uid
    if any(h.in_unit(unit) or _hidden_server(h, uid) for h in holders):
        return None
    if replace is not None:
        return f"port {port} is already in use by the Jupyter started by hand (pid {replace.pid})"
    taken = port_taken(port, unit, uid, holders=holders)
    return None if taken is None else taken[0]


def refuse_taken_port(
    port: int, unit: str, uid: int, replace: Optional[process.Process] = None
) -> None:
    taken = port_taken(port, unit, uid, replace)
    if taken is not None:
        raise UserError(f"{taken[0]}: nothing was changed", hint=taken[1])


def others_unit_error(plan: OthersUnit) -> UserError:
    return UserError(
        f"{plan.path} runs Jupyter for {plan.owner}, not for {plan.user}; it is left alone",
        hint=f"set up a server of your own next to it: `jupyter-bootstrap init --service-name "
        f"jupyter-{plan.user} --port 8889`; or take this one over with --force",
    )


def _check_port(port: int, unit: str, uid: int) -> None:
    taken = port_taken(port, unit, uid)
    if taken is not None:
        raise StepFailed(taken[0], hint=taken[1])


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
