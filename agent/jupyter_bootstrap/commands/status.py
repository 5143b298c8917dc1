"""`jupyter-bootstrap status`: every check, nothing changed; a footer for people, or one
JSON document for scripts (schema in docs/status-json.md)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import click

from jupyter_bootstrap import __version__
from jupyter_bootstrap.commands.summary import print_status_footer, url
from jupyter_bootstrap.console import Console
from jupyter_bootstrap.engine import Context, Report, converge
from jupyter_bootstrap.errors import EXIT_DRIFT, EXIT_OK
from jupyter_bootstrap.service import systemctl, unit
from jupyter_bootstrap.steps import init_steps

STATUS_SCHEMA_VERSION = 1


class WarningsOnly(Console):
    """Prints nothing; keeps the warnings (for `status --json`)."""

    def __init__(self) -> None:
        super().__init__(quiet=True)
        self.warnings: list[str] = []

    def warn(self, text: str) -> None:
        self.warnings.append(text)


def status(ctx: Context, as_json: bool) -> int:
    """The exit code: 0 when all is well, 3 when something drifted."""
    if as_json:
        return print_status_json(ctx)
    report = converge(ctx, init_steps(), apply=False)
    print_status_footer(ctx, report)
    return EXIT_DRIFT if report.drifted else EXIT_OK


# -- status --json ----------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def service_document(ctx: Context) -> dict[str, Any]:
    """The `service` object of `status --json` (schema in docs/status-json.md)."""
    name = unit.unit_name(ctx.settings.service_name)
    path = unit.unit_path(ctx.settings.service_name)
    document: dict[str, Any] = {
        "name": name,
        "managed": not ctx.settings.no_service,
        "systemd": systemctl.is_booted(),
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
    text = unit.read(path)
    state = systemctl.state(name)
    uptime = state.uptime_seconds
    document.update(
        installed=text is not None,
        ours=text is not None and unit.is_ours(text),
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


def print_status_json(ctx: Context) -> int:
    """Run the checks quietly, print one JSON document; the exit code is status's."""
    console = WarningsOnly()
    ctx.console = console
    report = converge(ctx, init_steps(), apply=False)
    document = status_document(ctx, report, console.warnings)
    click.echo(json.dumps(document, indent=2))
    return int(document["exit_code"])
