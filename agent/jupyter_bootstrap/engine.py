"""The converge engine: an ordered list of steps, each with a read-only `check` and an
idempotent `apply`, and the runner that prints one line per step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, Protocol

from jupyter_bootstrap.errors import BootstrapError, StepFailed
from jupyter_bootstrap.settings import Settings, save

if TYPE_CHECKING:
    from jupyter_bootstrap.account import Account
    from jupyter_bootstrap.console import Console
    from jupyter_bootstrap.facts import Facts
    from jupyter_bootstrap.paths import Paths


@dataclass(frozen=True)
class Status:
    """What a check found. `summary` says what is (or what is wrong); `action` says what
    `apply` would do about it."""

    ok: bool
    summary: str
    action: str = ""
    warnings: tuple[str, ...] = ()

    @classmethod
    def good(cls, summary: str, warnings: Sequence[str] = ()) -> Status:
        return cls(True, summary, "", tuple(warnings))

    @classmethod
    def drift(cls, summary: str, action: str, warnings: Sequence[str] = ()) -> Status:
        return cls(False, summary, action, tuple(warnings))


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
    # Hash of a password typed at the start of this run (asked before the long steps).
    typed_password_hash: Optional[str] = None


# Reads the new password (prompt or stdin) only when a step needs it; the plaintext never
# outlives the call that hashes it.
PasswordReader = Callable[[], str]


@dataclass
class Context:
    account: Account
    paths: Paths
    settings: Settings
    options: Options
    console: Console
    facts: Facts
    read_password: PasswordReader
    restart_reasons: list[str] = field(default_factory=list)

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

    def request_restart(self, reason: str) -> None:
        """A change the running server must pick up (certificate, config, unit)."""
        if reason not in self.restart_reasons:
            self.restart_reasons.append(reason)

    def save_settings(self) -> None:
        save(self.paths.settings_file, self.settings, self.account.owner)


class Step(Protocol):
    name: str
    title: str

    def check(self, ctx: Context) -> Status:
        """Read the machine; never change it, never prompt."""
        ...

    def apply(self, ctx: Context, found: Status) -> str:
        """Make it so (idempotently) and say in a few words what changed."""
        ...


@dataclass
class StepOutcome:
    step: str
    state: str  # ok, changed, drift, skipped, FAILED
    summary: str
    found: Optional[Status] = None


@dataclass
class Report:
    outcomes: list[StepOutcome] = field(default_factory=list)

    @property
    def drifted(self) -> list[StepOutcome]:
        return [o for o in self.outcomes if o.state == "drift"]

    @property
    def changed(self) -> list[StepOutcome]:
        return [o for o in self.outcomes if o.state == "changed"]

    def find(self, step: str) -> Optional[StepOutcome]:
        return next((o for o in self.outcomes if o.step == step), None)


class StepError(BootstrapError):
    """A step's error with the step's name attached, for the final message."""

    def __init__(self, step: str, error: BootstrapError) -> None:
        super().__init__(f"{step}: {error.message}", error.hint)
        self.step = step
        self.cause = error
        self.exit_code = error.exit_code


def converge(ctx: Context, steps: Sequence[Step], apply: bool) -> Report:
    """Check every step; in apply mode fix each drifted one and stop at the first failure.
    In check mode (status, --dry-run) every step is checked and nothing is changed."""
    report = Report()
    for step in steps:
        if step.name in ctx.options.skip:
            _record(ctx, report, step.name, "skipped", "--skip " + step.name)
            continue
        try:
            found = step.check(ctx)
            for warning in found.warnings:
                ctx.console.warn(f"{step.name}: {warning}")
            if found.ok:
                _record(ctx, report, step.name, "ok", found.summary, found)
                continue
            if not apply:
                text = found.summary + (f"; would {found.action}" if found.action else "")
                _record(ctx, report, step.name, "drift", text, found)
                continue
            change = step.apply(ctx, found)
            after = step.check(ctx)
            if not after.ok:
                raise StepFailed(
                    f"still not right after the change: {after.summary}",
                    hint="run with --debug and read the log; then report it as a bug",
                )
            _record(ctx, report, step.name, "changed", change)
        except BootstrapError as error:
            _record(ctx, report, step.name, "FAILED", error.message)
            raise StepError(step.name, error) from error
    return report


def _record(
    ctx: Context,
    report: Report,
    step: str,
    state: str,
    summary: str,
    found: Optional[Status] = None,
) -> None:
    report.outcomes.append(StepOutcome(step, state, summary, found))
    ctx.console.step(step, state, summary)
