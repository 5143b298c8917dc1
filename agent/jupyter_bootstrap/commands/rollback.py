"""A working server stays working: after a run whose health check passed, the unit and
config are remembered as the last working setup; when a run restarted the server and it
then failed to come up, they are put back and the server restarted with them, so it runs
again while `init` reports the failure."""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from jupyter_bootstrap import https_probe
from jupyter_bootstrap.engine import Context, Report, Step, StepError, converge
from jupyter_bootstrap.errors import BootstrapError, StepFailed
from jupyter_bootstrap.service import known_good, started, systemctl
from jupyter_bootstrap.service import unit as units
from jupyter_bootstrap.steps.health import probe_target

# The steps whose failure after a restart leaves the server down.
FAILING_AFTER_RESTART = ("service", "health")
STARTUP_TIMEOUT = 60.0


def _managed(ctx: Context) -> bool:
    return not ctx.settings.no_service and systemctl.is_booted()


def converge_or_roll_back(
    ctx: Context,
    steps: Sequence[Step[Any]],
    prerequisites: Collection[str] = (),
    command: str = "init",
) -> Report:
    """Apply the steps; a failure after a restart rolls back to the last working setup, and
    a run whose health check passed becomes the new last working setup."""
    try:
        report = converge(ctx, steps, True, prerequisites, command=command)
    except StepError as error:
        raise roll_back(ctx, error) from error
    remember(ctx, report)
    return report


def remember(ctx: Context, report: Report) -> None:
    health = report.find("health")
    if not _managed(ctx) or health is None or health.state not in ("ok", "changed"):
        return
    name = ctx.settings.service_name
    known_good.remember(
        ctx.paths.state_dir,
        units.unit_name(name),
        units.unit_path(name),
        ctx.facts.config_file or ctx.paths.server_config,
        ctx.settings.port,
        ctx.account.owner,
    )


def roll_back(ctx: Context, error: StepError) -> StepError:
    """The error to report: `error` itself when there was nothing to roll back, else the
    same failure saying what was put back and whether the server answers again."""
    if error.step not in FAILING_AFTER_RESTART or ctx.run.service_started_at is None:
        return error
    if not _managed(ctx):
        return error
    good = known_good.load(ctx.paths.state_dir)
    if good is None or good.unit != units.unit_name(ctx.settings.service_name):
        return error
    ctx.console.info("Putting back the last working setup, so that Jupyter runs again ...")
    try:
        restored = known_good.restore(good, ctx.account.owner)
    except (BootstrapError, OSError) as failure:
        # The first failure is the one to fix; this one is said beside it.
        reason = failure.message if isinstance(failure, BootstrapError) else str(failure)
        return _with_outcome(error, f"putting the last working setup back failed too: {reason}")
    target = probe_target(ctx)._replace(port=good.port)
    result, _ = https_probe.wait(target, time.monotonic() + STARTUP_TIMEOUT)
    put_back = ", ".join(restored) or "nothing had changed on disk"
    if result.ok:
        # The server now runs the restored files: the next run must not restart it again.
        now_running = started.server_fingerprint(good.unit_text, Path(good.config_path))
        started.record(ctx.paths.state_file, good.unit, now_running, ctx.account.owner)
        outcome = (
            f"rolled back ({put_back}): the last working setup answers again on port "
            f"{good.port}; your settings still hold the change, so fix its cause before the "
            "next init"
        )
    else:
        outcome = f"the rollback ({put_back}) did not bring it back either: {result.summary}"
    return _with_outcome(error, outcome)


def _with_outcome(error: StepError, outcome: str) -> StepError:
    details = getattr(error.cause, "details", None)
    failed = StepFailed(f"{error.cause.message}; {outcome}", error.hint, details)
    return StepError(error.step, failed)
