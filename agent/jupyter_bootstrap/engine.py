"""The converge engine: the Step protocol, the context every step shares, the preflight that
runs before anything is written, and the runner that prints one line per step.

A step decides once. `check` reads the machine and returns a `Status` carrying a typed plan
(None when all is well); `apply` carries that plan out and decides nothing new; the runner
checks again afterwards. Whether the running server must restart is part of the plan too,
so it is decided where the facts are, not guessed later from what was written.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Generic,
    NamedTuple,
    Optional,
    Protocol,
    TypeVar,
    runtime_checkable,
)

from jupyter_bootstrap import derived, kill_points
from jupyter_bootstrap.errors import BootstrapError, StepFailed, UserError
from jupyter_bootstrap.settings import Settings, save

log = logging.getLogger("jupyter_bootstrap")

if TYPE_CHECKING:
    from jupyter_bootstrap.account import Account
    from jupyter_bootstrap.console import Console
    from jupyter_bootstrap.facts import Facts
    from jupyter_bootstrap.paths import Paths


class Plan(Protocol):
    """What a check decided to do about a drift."""

    @property
    def action(self) -> str:
        """What apply will do, in a few words ("install the unit, enable it, start it")."""
        ...

    @property
    def restart_reason(self) -> Optional[str]:
        """Why the running server must restart once this plan is carried out, or None when
        the server reads none of the bytes it changes (a restart kills every kernel)."""
        ...


PlanT = TypeVar("PlanT", bound=Plan)


@dataclass(frozen=True)
class Status(Generic[PlanT]):
    """What a check found: a summary of what is (or what is wrong) and, when something must
    change, the plan for it."""

    summary: str
    plan: Optional[PlanT] = None
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.plan is None

    @property
    def action(self) -> str:
        return self.plan.action if self.plan is not None else ""


def good(summary: str, warnings: Sequence[str] = ()) -> Status[Any]:
    return Status(summary, None, tuple(warnings))


def drift(summary: str, plan: PlanT, warnings: Sequence[str] = ()) -> Status[PlanT]:
    return Status(summary, plan, tuple(warnings))


@dataclass
class Options:
    """Per-run choices that are not saved (the saved ones live in Settings)."""

    dry_run: bool = False
    reset_password: bool = False
    password_stdin: bool = False
    password_hash: Optional[str] = None
    force_os: bool = False
    skip: frozenset[str] = frozenset()
    keep_installer: bool = False
    # Take over a unit of ours that another login user's init wrote.
    force: bool = False
    # Stop a Jupyter of the user's, started by hand, that holds the port.
    replace_running: bool = False
    # Whether questions may be asked on a terminal (a prompt never waits on a pipe).
    interactive: bool = False
    # `cert renew`: a certificate from the CA is renewed once a third of its life is left
    # (init and status only insist on one day); `force_renew`: renewed now, whatever is left.
    renew: bool = False
    force_renew: bool = False
    # `status --timings`: each step's line says how long it took (the log always does).
    timings: bool = False


@dataclass
class RunState:
    """What this run has asked, done or promised so far. Never saved: the next run reads the
    machine again."""

    # Hash of the password typed in the preflight (the plaintext is gone by then).
    typed_password_hash: Optional[str] = None
    # Changes of this run the running server has not loaded yet.
    restart_reasons: list[str] = field(default_factory=list)
    # time.monotonic() when this run (re)started the server: the health check then waits
    # for it to come up instead of reporting it down.
    service_started_at: Optional[float] = None
    # Lines for the final summary.
    notes: list[str] = field(default_factory=list)
    # What the checks found that was made by hand (the old tutorial's config, certificate,
    # a Jupyter started with nohup): said before anything is changed.
    found_by_hand: list[str] = field(default_factory=list)
    # The preflight's pass of checks, until the run takes it over or checks again.
    checked: Optional[Checked] = None

    def request_restart(self, reason: str) -> None:
        if reason not in self.restart_reasons:
            self.restart_reasons.append(reason)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def found(self, text: str) -> None:
        if text not in self.found_by_hand:
            self.found_by_hand.append(text)


class Checked(NamedTuple):
    """What the preflight's silent pass of checks found, and with which settings."""

    steps: tuple[str, ...]
    report: Report
    settings: Settings
    facts: Facts
    notes: tuple[str, ...]

    def nothing_to_do(self, ctx: Context, steps: Sequence[Step[Any]]) -> bool:
        """Whether the run would find what this pass found: every step was right, and
        nothing was asked, changed or chosen since (same steps, same settings, no restart
        requested, no password typed). Checked again, the machine would say the same a few
        milliseconds later; any doubt, and the run checks again."""
        run = ctx.run
        return (
            self.steps == tuple(step.name for step in steps)
            and all(outcome.state in ("ok", "skipped") for outcome in self.report.outcomes)
            and self.settings == ctx.settings
            and not run.restart_reasons
            and run.service_started_at is None
            and run.typed_password_hash is None
            and not ctx.options.force_renew
        )


# Reads the new password (prompt or stdin) when the preflight asks for it; the plaintext
# never outlives the call that hashes it.
PasswordReader = Callable[[], str]


@dataclass
class Context:
    """Everything a step sees: who runs, where things live, the settings it may change,
    what this run was asked, the console, and what the checks found."""

    account: Account
    paths: Paths
    settings: Settings
    options: Options
    console: Console
    facts: Facts
    read_password: PasswordReader
    run: RunState = field(default_factory=RunState)

    @property
    def prefix(self) -> Path:
        """The conda prefix every step after `conda` uses: what the conda step found, else
        the saved choice (when it is skipped), else the distribution's default."""
        if self.facts.conda is not None:
            return self.facts.conda.prefix
        if self.settings.prefix:
            return Path(self.settings.prefix)
        return self.paths.default_prefix(self.settings.distribution)

    @property
    def notebook_dir(self) -> Path:
        if self.settings.notebook_dir:
            return Path(self.settings.notebook_dir)
        return self.paths.default_notebook_dir

    @property
    def certificate_files(self) -> tuple[Path, Path]:
        """(certfile, keyfile): what the certificate check found, else what the settings
        name, else the default, which holds both (keyfile is certfile then); the same pair
        whether or not that step ran."""
        settings = self.settings
        certfile = self.facts.certfile or Path(settings.certfile or self.paths.default_certfile)
        keyfile = self.facts.keyfile or Path(settings.keyfile or certfile)
        return certfile, keyfile

    def save_settings(self) -> None:
        save(self.paths.settings_file, self.settings, self.account.owner)

    def quiet_copy(self) -> Context:
        """A copy for a silent pass: its own settings, facts and run state (starting from
        this run's so far), no output."""
        from jupyter_bootstrap.console import Console
        from jupyter_bootstrap.facts import Facts

        return dataclasses.replace(
            self,
            settings=dataclasses.replace(self.settings),
            console=Console(quiet=True),
            facts=Facts(public=self.facts.public),
            run=dataclasses.replace(
                self.run,
                restart_reasons=list(self.run.restart_reasons),
                notes=[],
                found_by_hand=[],
            ),
        )


class Step(Protocol[PlanT]):
    name: str

    def check(self, ctx: Context) -> Status[PlanT]:
        """Read the machine; never change it, never prompt."""
        ...

    def apply(self, ctx: Context, plan: PlanT) -> str:
        """Carry the plan out (idempotently) and say in a few words what changed."""
        ...


@runtime_checkable
class RefusesEarly(Protocol):
    """A step that can tell before anything is written that the run would fail (no systemd,
    sudo that wants a password nobody can type, a port someone else holds): it raises that
    error in the preflight. `plan` is its check's plan, None when the check found it right
    (a new setting elsewhere may still be bound to fail here)."""

    def refuse_early(self, ctx: Context, plan: Any) -> None: ...


@runtime_checkable
class AsksFirst(Protocol):
    """A step whose plan needs an answer (a password, accepting terms): asked in the
    preflight, before the long steps, and kept in `ctx.run` or the settings."""

    def ask_first(self, ctx: Context, plan: Any) -> None: ...


@dataclass
class StepOutcome:
    """One step's line in the report, with what its check found and how long it took."""

    step: str
    state: str  # ok, changed, drift, skipped, FAILED
    summary: str
    found: Optional[Status[Any]] = None
    seconds: float = 0.0  # its check, and its apply and re-check when it changed


@dataclass
class Report:
    """The outcome of every step, in order."""

    outcomes: list[StepOutcome] = field(default_factory=list)

    @property
    def drifted(self) -> list[StepOutcome]:
        return [o for o in self.outcomes if o.state == "drift"]

    def find(self, step: str) -> Optional[StepOutcome]:
        return next((o for o in self.outcomes if o.step == step), None)


class StepError(BootstrapError):
    """A step's error with the step's name attached, for the final message."""

    def __init__(self, step: str, error: BootstrapError) -> None:
        super().__init__(f"{step}: {error.message}", error.hint)
        self.step = step
        self.cause = error
        self.exit_code = error.exit_code


def not_ready(found: Status[Any], command: str) -> UserError:
    """A step `command` relies on but does not repair has drifted (the runner adds the
    step's name)."""
    hint = "run `jupyter-bootstrap init` first: it repairs it"
    if command == "password":
        hint = "run `jupyter-bootstrap init --reset-password`: it repairs that and asks for "
        hint += "the new password"
    return UserError(
        f"{found.summary}; `jupyter-bootstrap {command}` does not repair that, so "
        "nothing was changed",
        hint=hint,
    )


def converge(
    ctx: Context,
    steps: Sequence[Step[Any]],
    apply: bool,
    prerequisites: Collection[str] = (),
    command: str = "init",
    foresee_restarts: bool = False,
) -> Report:
    """Check every step; in apply mode carry out each drifted step's plan and stop at the
    first failure. In check mode (status, --dry-run) nothing is changed. In apply mode
    right after a preflight that found every step right, its findings are taken over
    instead of checking everything a second time (Checked.nothing_to_do).

    `prerequisites` are steps this command (`command`, for the message) relies on but does
    not repair: they are checked without a line of output, and a drift in one stops the
    run before anything changes. `foresee_restarts` (check mode): later checks see the
    restarts that earlier plans would ask for, as they will when the plans are applied."""
    checked, ctx.run.checked = ctx.run.checked, None
    if apply and checked is not None and checked.nothing_to_do(ctx, steps):
        return _take_over(ctx, checked, prerequisites)
    report = Report()
    for step in steps:
        started = time.monotonic()
        if step.name in ctx.options.skip:
            _record(ctx, report, step.name, "skipped", "--skip " + step.name)
            continue
        try:
            found = step.check(ctx)
            for warning in found.warnings:
                ctx.console.warn(f"{step.name}: {warning}")
            if step.name in prerequisites:
                if found.plan is not None:
                    raise not_ready(found, command)
                seconds = _timed(step.name, started)
                report.outcomes.append(StepOutcome(step.name, "ok", found.summary, found, seconds))
                continue
            if found.plan is None:
                _record(ctx, report, step.name, "ok", found.summary, found, started)
                continue
            if not apply:
                if foresee_restarts and found.plan.restart_reason:
                    ctx.run.request_restart(found.plan.restart_reason)
                text = f"{found.summary}; would {found.plan.action}"
                _record(ctx, report, step.name, "drift", text, found, started)
                continue
            kill_points.reached(f"{step.name}:apply")
            change = step.apply(ctx, found.plan)
            if found.plan.restart_reason:
                ctx.run.request_restart(found.plan.restart_reason)
            after = step.check(ctx)
            if after.plan is not None:
                raise StepFailed(
                    f"still not right after the change: {after.summary}",
                    hint="run with --debug and read the log; then report it as a bug",
                )
            _record(ctx, report, step.name, "changed", change, started=started)
        except BootstrapError as error:
            if step.name not in prerequisites:
                _record(ctx, report, step.name, "FAILED", error.message, started=started)
            raise StepError(step.name, error) from error
    if ctx.options.timings:
        _say_slowest(ctx, report)
    return report


def preflight(
    ctx: Context,
    steps: Sequence[Step[Any]],
    prerequisites: Collection[str] = (),
    command: str = "init",
) -> Report:
    """Everything a converging command must know before it writes anything, in one silent
    pass over a copy of the context: bad input (a certificate that does not match its key,
    a notebook folder that is a file...) and drifted prerequisites stop it here, steps bound
    to fail refuse here, and then every question is asked, so that nothing waits for an
    answer behind a ten-minute download the user may have walked away from.

    What the checks derived (renderings, a certificate's facts) is kept for the next run
    only when nothing here refused: a refused run changes nothing."""
    with derived.held_until_done():
        return _preflight(ctx, steps, prerequisites, command)


def _preflight(
    ctx: Context, steps: Sequence[Step[Any]], prerequisites: Collection[str], command: str
) -> Report:
    quiet = ctx.quiet_copy()
    report = converge(quiet, steps, False, prerequisites, command=command, foresee_restarts=True)
    # Asked once per run: off EC2 each lookup waits for the metadata address to time out.
    ctx.facts.public = quiet.facts.public
    ctx.run.checked = Checked(
        tuple(step.name for step in steps),
        report,
        quiet.settings,
        quiet.facts,
        tuple(quiet.run.notes),
    )
    checked = [
        (step, outcome.found.plan)
        for step in steps
        if (outcome := report.find(step.name)) is not None
        and outcome.found is not None
        and step.name not in prerequisites
    ]
    for step, plan in checked:
        if isinstance(step, RefusesEarly):
            _named(step, step.refuse_early, ctx, plan)
    if quiet.run.found_by_hand:
        ctx.console.info("Found a setup made by hand; it is taken over, and backups are kept:")
        for line in quiet.run.found_by_hand:
            ctx.console.info(f"  - {line}")
    for step, plan in checked:
        if plan is not None and isinstance(step, AsksFirst):
            _named(step, step.ask_first, ctx, plan)
    return report


def _take_over(ctx: Context, checked: Checked, prerequisites: Collection[str]) -> Report:
    """The run's report, lines, facts and notes from the preflight's pass, as checking
    again would have made them."""
    report = Report()
    for outcome in checked.report.outcomes:
        found = outcome.found
        for warning in found.warnings if found is not None else ():
            ctx.console.warn(f"{outcome.step}: {warning}")
        if outcome.step in prerequisites:
            report.outcomes.append(outcome)
            continue
        report.outcomes.append(outcome)
        shown = outcome.summary
        if ctx.options.timings:
            shown = f"{shown} [{outcome.seconds:.3f}s]"
        ctx.console.step(outcome.step, outcome.state, shown)
    for name in (f.name for f in dataclasses.fields(checked.facts)):
        setattr(ctx.facts, name, getattr(checked.facts, name))
    for note in checked.notes:
        ctx.run.note(note)
    if ctx.options.timings:
        _say_slowest(ctx, report)
    return report


def _named(step: Step[Any], hook: Callable[[Context, Any], None], ctx: Context, plan: Any) -> None:
    """A hook's error carries the step's name, like an error of its check or apply."""
    try:
        hook(ctx, plan)
    except BootstrapError as error:
        raise StepError(step.name, error) from error


def _record(
    ctx: Context,
    report: Report,
    step: str,
    state: str,
    summary: str,
    found: Optional[Status[Any]] = None,
    started: Optional[float] = None,
) -> None:
    seconds = _timed(step, started) if started is not None else 0.0
    report.outcomes.append(StepOutcome(step, state, summary, found, seconds))
    # No space inside the brackets: the console never wraps the figure away from its unit.
    shown = f"{summary} [{seconds:.3f}s]" if ctx.options.timings else summary
    ctx.console.step(step, state, shown)


def _timed(step: str, started: float) -> float:
    """Seconds since `started`, also written to the log: the slowest check of a run that
    felt slow can be found afterwards, without running it again."""
    seconds = time.monotonic() - started
    log.info("step %s took %.3f s", step, seconds)
    return seconds


def _say_slowest(ctx: Context, report: Report) -> None:
    timed = [outcome for outcome in report.outcomes if outcome.seconds > 0]
    if not timed:
        return
    slowest = max(timed, key=lambda outcome: outcome.seconds)
    total = sum(outcome.seconds for outcome in timed)
    ctx.console.info(
        f"The steps took {total:.3f} s; the slowest was {slowest.step} ({slowest.seconds:.3f} s)."
    )
