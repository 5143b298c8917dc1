"""`jupyter-bootstrap init`: every step, after a preflight that asks every question first.
One run at a time, and a dropped SSH session does not stop it (commands/guarded.py).
Each run leaves a record of how it ended (init_record.py), for `status` to tell later."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from jupyter_bootstrap import __version__, derived, init_record
from jupyter_bootstrap.commands import rollback
from jupyter_bootstrap.commands.guarded import converging, follow_command
from jupyter_bootstrap.commands.summary import print_summary
from jupyter_bootstrap.engine import Context, Step, StepError, converge, preflight
from jupyter_bootstrap.errors import BootstrapError
from jupyter_bootstrap.service import systemctl
from jupyter_bootstrap.service.our_units import checked_units
from jupyter_bootstrap.steps import init_steps
from jupyter_bootstrap.user_data import FIRST_BOOT_ENV


def init(ctx: Context) -> None:
    steps = init_steps()
    if ctx.options.dry_run:
        units = checked_units(ctx.settings.service_name, ctx.settings.no_service, ctx.options.skip)
        with systemctl.read_together(units), derived.recall_only():
            report = converge(ctx, steps, apply=False)
        ctx.console.info()
        ctx.console.info(
            f"{len(report.drifted)} step(s) would change." if report.drifted else "Nothing to do."
        )
        return
    # Locked before the password is asked: a second run is refused before any question.
    with converging(ctx, "init"):
        record = init_record.started(first_boot=os.environ.get(FIRST_BOOT_ENV) == "1")
        try:
            with systemctl.read_together(
                checked_units(ctx.settings.service_name, ctx.settings.no_service, ctx.options.skip)
            ):
                preflight(ctx, steps)
        except BootstrapError as error:
            # A refusal changes nothing, not even the record; but at first boot nobody saw
            # it, and the record is how `status` can tell the user later.
            if record.first_boot:
                _record_failure(ctx, record, error)
            raise
        init_record.save(ctx.paths.state_dir, record, ctx.account.owner)
        try:
            _set_up(ctx, steps)
        except BootstrapError as error:
            _record_failure(ctx, record, error)
            raise
        # A run that ended well is no news: and a re-run that changes nothing leaves no
        # file changed, this one included.
        init_record.forget(ctx.paths.state_dir)


def _record_failure(ctx: Context, record: init_record.InitRecord, error: BootstrapError) -> None:
    cause = error.cause if isinstance(error, StepError) else error
    step = error.step if isinstance(error, StepError) else None
    failed = record.failed_at(step, cause.message, cause.hint)
    init_record.save(ctx.paths.state_dir, failed, ctx.account.owner)


def _set_up(ctx: Context, steps: Sequence[Step[Any]]) -> None:
    """After the preflight: from here on the run changes things."""
    ctx.save_settings()
    ctx.console.heading(
        f"jupyter-bootstrap {__version__}: setting up Jupyter for {ctx.account.name}"
    )
    follow = follow_command(ctx)
    if follow:
        ctx.console.info(f"Follow it from another session: {follow}")
    try:
        rollback.converge_or_roll_back(ctx, steps)
    except StepError:
        _keep_password(ctx)
        raise
    _remember_prefix(ctx)
    print_summary(ctx)


def _keep_password(ctx: Context) -> None:
    """The password this run was given (or asked for) outlives a failure before the
    password step stored it: the next `init`, after the cause is fixed, asks nothing again.
    (After a first boot that failed, nobody is there who knows the password to type.)"""
    answered = ctx.run.typed_password_hash or ctx.options.password_hash
    if answered is not None and answered != ctx.settings.password_hash:
        ctx.settings.password_hash = answered
        ctx.save_settings()


def _remember_prefix(ctx: Context) -> None:
    """A conda found (rather than chosen) on the first run stays the one later runs use,
    even if PATH or $CONDA_EXE change."""
    found = ctx.facts.conda
    if found is not None and ctx.settings.prefix is None:
        ctx.settings.prefix = str(found.prefix)
        ctx.save_settings()
