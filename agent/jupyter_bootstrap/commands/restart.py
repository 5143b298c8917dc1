"""`jupyter-bootstrap restart`: restart the server and wait until it answers over HTTPS
with the login enforced. Like `password`, it repairs nothing else: a drifted setup stops
it before anything happens, with `init` as the way on."""

from __future__ import annotations

from jupyter_bootstrap.commands import rollback
from jupyter_bootstrap.commands.guarded import guarded
from jupyter_bootstrap.engine import Context, preflight
from jupyter_bootstrap.errors import UserError
from jupyter_bootstrap.service import systemctl, unit
from jupyter_bootstrap.steps import steps_named

CONVERGED = ("service", "health")
PREREQUISITES = ("conda", "jupyter", "password", "certificate", "config")
ASKED_FOR = "asked for with `jupyter-bootstrap restart`"


def require_service(ctx: Context) -> None:
    """A service of ours that `restart` can act on."""
    if ctx.settings.password_hash is None:
        raise UserError(
            "nothing is set up yet", hint="run `jupyter-bootstrap init` first: it installs it"
        )
    if ctx.settings.no_service:
        raise UserError(
            "Jupyter does not run as a service here (--no-service was chosen)",
            hint="stop it with Ctrl-C where it runs and start it again, or install the "
            "service with `jupyter-bootstrap init --service`",
        )
    if not systemctl.is_booted():
        raise systemctl.not_booted_error(
            "Jupyter cannot run as a service",
            hint="start it by hand (see `jupyter-bootstrap init --help`, --no-service)",
        )


@guarded("restart")
def restart(ctx: Context) -> None:
    require_service(ctx)
    name = ctx.settings.service_name
    if unit.read(unit.unit_path(name)) is None:
        raise UserError(
            f"the service {unit.unit_name(name)} is not installed",
            hint="run `jupyter-bootstrap init`: it installs and starts it",
        )
    ctx.run.request_restart(ASKED_FOR)
    steps = steps_named(CONVERGED + PREREQUISITES)
    preflight(ctx, steps, PREREQUISITES, command="restart")
    rollback.converge_or_roll_back(ctx, steps, PREREQUISITES, command="restart")
