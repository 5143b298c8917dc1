"""`jupyter-bootstrap password`: a new password, and the server restarted to use it.

It repairs only what a new password touches. Everything else it relies on (conda, Jupyter,
the certificate) must already be right: a drift there stops it before any question or
change, with `init` as the way on, so it never starts a download or regenerates a
certificate on the side."""

from __future__ import annotations

from jupyter_bootstrap.commands import rollback
from jupyter_bootstrap.commands.guarded import guarded
from jupyter_bootstrap.engine import Context, preflight
from jupyter_bootstrap.errors import UserError
from jupyter_bootstrap.steps import steps_named

CONVERGED = ("password", "config", "service", "health")
PREREQUISITES = ("conda", "jupyter", "certificate")


@guarded("password")
def password(ctx: Context) -> None:
    if ctx.settings.password_hash is None:
        raise UserError(
            "nothing is set up yet", hint="run `jupyter-bootstrap init` first: it asks for one"
        )
    steps = steps_named(CONVERGED + PREREQUISITES)
    preflight(ctx, steps, PREREQUISITES, command="password")
    report = rollback.converge_or_roll_back(ctx, steps, PREREQUISITES, command="password")
    changed = report.find("password")
    if changed is not None and changed.state == "changed":
        ctx.console.info("Password changed. Log in again in the browser with the new one.")
    elif any(o.state == "changed" for o in report.outcomes):
        ctx.console.info("That is the password already set; the rest was repaired.")
    else:
        ctx.console.info("That is the password already set: nothing changed.")
