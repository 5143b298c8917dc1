"""`jupyter-bootstrap init`: every step, after a preflight that asks every question first.
One run at a time, and a dropped SSH session does not stop it (commands/guarded.py)."""

from __future__ import annotations

from jupyter_bootstrap import __version__
from jupyter_bootstrap.commands import rollback
from jupyter_bootstrap.commands.guarded import converging, follow_command
from jupyter_bootstrap.commands.summary import print_summary
from jupyter_bootstrap.engine import Context, converge, preflight
from jupyter_bootstrap.steps import init_steps


def init(ctx: Context) -> None:
    steps = init_steps()
    if ctx.options.dry_run:
        report = converge(ctx, steps, apply=False)
        ctx.console.info()
        ctx.console.info(
            f"{len(report.drifted)} step(s) would change." if report.drifted else "Nothing to do."
        )
        return
    # Locked before the password is asked: a second run is refused before any question.
    with converging(ctx, "init"):
        preflight(ctx, steps)
        ctx.save_settings()
        ctx.console.heading(
            f"jupyter-bootstrap {__version__}: setting up Jupyter for {ctx.account.name}"
        )
        follow = follow_command(ctx)
        if follow:
            ctx.console.info(f"Follow it from another session: {follow}")
        rollback.converge_or_roll_back(ctx, steps)
        _remember_prefix(ctx)
        print_summary(ctx)


def _remember_prefix(ctx: Context) -> None:
    """A conda found (rather than chosen) on the first run stays the one later runs use,
    even if PATH or $CONDA_EXE change."""
    found = ctx.facts.conda
    if found is not None and ctx.settings.prefix is None:
        ctx.settings.prefix = str(found.prefix)
        ctx.save_settings()
