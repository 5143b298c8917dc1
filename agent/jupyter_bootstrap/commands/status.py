"""The commands around the running service: `status --json`, `logs`, `restart`.
(`uninstall` has a module of its own.) cli.py parses their flags and calls these."""

from __future__ import annotations

import json
import logging
import os
import shlex
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable

import click

from jupyter_bootstrap import __version__, service_unit, sudo, systemd
from jupyter_bootstrap.console import Console
from jupyter_bootstrap.errors import EXIT_DRIFT, EXIT_OK, UserError
from jupyter_bootstrap.files import read_bytes_or_none

if TYPE_CHECKING:
    from jupyter_bootstrap.engine import Context, Report, Step

log = logging.getLogger("jupyter_bootstrap")

STATUS_SCHEMA_VERSION = 1
# The steps whose checks tell `restart` where Jupyter, its certificate and config are.
FACT_STEPS = ("jupyter", "password", "certificate", "config")


class QuietConsole(Console):
    """Prints nothing; keeps the warnings (for `status --json`)."""

    def __init__(self) -> None:
        super().__init__(quiet=True)
        self.warnings: list[str] = []

    def step(self, name: str, state: str, summary: str) -> None:
        pass

    def warn(self, text: str) -> None:
        self.warnings.append(text)


# -- status --json ----------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def service_document(ctx: Context) -> dict[str, Any]:
    """The `service` object of `status --json` (schema in docs/status-json.md)."""
    name = service_unit.unit_name(ctx.settings.service_name)
    path = service_unit.unit_path(ctx.settings.service_name)
    document: dict[str, Any] = {
        "name": name,
        "managed": not ctx.settings.no_service,
        "systemd": systemd.is_booted(),
        "unit_file": str(path),
        "installed": False,
        "ours": False,
        "enabled": False,
        "active": False,
        "active_state": None,
        "sub_state": None,
        "main_pid": None,
        "active_since": None,
        "uptime_seconds": None,
    }
    if not document["systemd"]:
        return document
    raw = read_bytes_or_none(path)
    state = systemd.state(name)
    uptime = state.uptime_seconds
    document.update(
        installed=raw is not None,
        ours=raw is not None and service_unit.is_ours(raw.decode("utf-8", "replace")),
        enabled=state.enabled,
        active=state.active,
        active_state=state.active_state,
        sub_state=state.sub_state,
        main_pid=state.main_pid,
    )
    if uptime is not None:
        document["uptime_seconds"] = int(uptime)
        document["active_since"] = _iso(datetime.now(timezone.utc) - timedelta(seconds=uptime))
    return document


def status_document(ctx: Context, report: Report, warnings: Sequence[str]) -> dict[str, Any]:
    from jupyter_bootstrap.summary import url

    drifted = [o.step for o in report.drifted]
    return {
        "schema_version": STATUS_SCHEMA_VERSION,
        "agent_version": __version__,
        "user": ctx.account.name,
        "ok": not drifted,
        "exit_code": EXIT_DRIFT if drifted else EXIT_OK,
        "url": url(ctx),
        "drift": drifted,
        "steps": [
            {
                "name": o.step,
                "state": o.state,
                "summary": o.found.summary if o.found is not None else o.summary,
                "action": o.found.action if o.found is not None and o.found.action else None,
            }
            for o in report.outcomes
        ],
        "warnings": list(warnings),
        "service": service_document(ctx),
    }


def print_status_json(ctx: Context, steps: Sequence[Step]) -> int:
    """Run the checks quietly, print one JSON document; the exit code is status's."""
    from jupyter_bootstrap.engine import converge

    console = QuietConsole()
    ctx.console = console
    report = converge(ctx, steps, apply=False)
    document = status_document(ctx, report, console.warnings)
    click.echo(json.dumps(document, indent=2))
    return int(document["exit_code"])


# -- restart ----------------------------------------------------------------------------


def _require_service(ctx: Context) -> None:
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
    if not systemd.is_booted():
        raise UserError(
            f"systemd is not running on this machine (PID 1 is {systemd.pid1_name()})",
            hint="Jupyter cannot run as a service here: start it by hand (see "
            "`jupyter-bootstrap init --help`, --no-service)",
        )


def restart(ctx: Context, steps: Sequence[Step]) -> None:
    """Restart the server and wait until it answers over HTTPS with the login enforced."""
    from jupyter_bootstrap.engine import converge

    _require_service(ctx)
    if read_bytes_or_none(service_unit.unit_path(ctx.settings.service_name)) is None:
        raise UserError(
            f"the service {service_unit.unit_name(ctx.settings.service_name)} is not installed",
            hint="run `jupyter-bootstrap init`: it installs and starts it",
        )
    # The earlier checks find Jupyter, the certificate and the config (quietly).
    console = ctx.console
    ctx.console = QuietConsole()
    try:
        converge(ctx, [s for s in steps if s.name in FACT_STEPS], apply=False)
    finally:
        ctx.console = console
    ctx.request_restart("asked for with `jupyter-bootstrap restart`")
    converge(ctx, [s for s in steps if s.name in ("service", "health")], apply=True)


# -- logs -------------------------------------------------------------------------------


def _exec(argv: list[str]) -> None:
    os.execvp(argv[0], argv)


# Replaced in tests: the real one never returns.
replace_process: Callable[[list[str]], None] = _exec


def logs(ctx: Context, lines: int, follow: bool) -> None:
    """Hand the terminal to journalctl (follow mode runs until Ctrl-C)."""
    if not systemd.is_booted():
        raise UserError(
            f"systemd is not running on this machine (PID 1 is {systemd.pid1_name()}), so "
            "there is no service log",
            hint="Jupyter started by hand logs to the terminal it runs in",
        )
    unit = service_unit.unit_name(ctx.settings.service_name)
    if systemd.journal_needs_sudo():
        sudo.ensure("read the system journal")
    argv = systemd.journal_argv(unit, lines, follow)
    log.info("exec: %s", shlex.join(argv))
    sys.stdout.flush()
    sys.stderr.flush()
    replace_process(argv)
