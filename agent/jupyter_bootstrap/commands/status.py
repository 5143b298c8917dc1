"""`jupyter-bootstrap status`: every check, nothing changed; a footer for people, or one
JSON document for scripts (schema in docs/status-json.md). Both say how the last `init`
ended when that is news: one that runs now, failed, or stopped half-way (often the setup at
first boot, which nobody watched)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Optional

import click

from jupyter_bootstrap import __version__, derived, init_record
from jupyter_bootstrap.commands import run_lock
from jupyter_bootstrap.commands.housekeeping import (
    culling_document,
    kernels_document,
    print_idle_now,
    stop_when_idle_document,
)
from jupyter_bootstrap.commands.summary import print_status_footer, url
from jupyter_bootstrap.console import Console
from jupyter_bootstrap.engine import Context, Report, converge
from jupyter_bootstrap.errors import EXIT_DRIFT, EXIT_OK
from jupyter_bootstrap.init_record import InitRecord
from jupyter_bootstrap.service import systemctl, unit
from jupyter_bootstrap.service.our_units import checked_units
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
    units = checked_units(ctx.settings.service_name, ctx.settings.no_service, ctx.options.skip)
    with systemctl.read_together(units), derived.recall_only():
        return _status(ctx, as_json)


def _status(ctx: Context, as_json: bool) -> int:
    if as_json:
        return print_status_json(ctx)
    report = converge(ctx, init_steps(), apply=False)
    news = last_init_news(
        init_record.load(ctx.paths.state_dir),
        run_lock.holder(ctx.paths.state_dir),
        ctx.paths.log_file,
    )
    if news:
        ctx.console.info()
        for paragraph in news:
            ctx.console.info(paragraph)
    print_status_footer(ctx, report)
    print_idle_now(ctx)
    return EXIT_DRIFT if report.drifted else EXIT_OK


def last_init_news(
    record: Optional[InitRecord], running: Optional[run_lock.Holder], log: Path
) -> list[str]:
    """What the user should know about the last `init`, in paragraphs; nothing when it
    ended well (or there never was one)."""
    if running is not None:
        at_first_boot = (
            running.command == "init" and record is not None and record.first_boot
        ) and not record.finished
        what = (
            "The setup at first boot (cloud-init)"
            if at_first_boot
            else f"`jupyter-bootstrap {running.command}`"
        )
        return [
            f"{what} is running now ({running.describe()}): what drifted above may be what it "
            "has not done yet. Run `jupyter-bootstrap status` again when it has finished.",
            f"Follow it: tail -f {log}",
        ]
    if record is None or record.ok:
        return []
    who = record.who[:1].upper() + record.who[1:]
    if not record.finished:
        return [
            f"{who} started {init_record.when(record.started_at)} and stopped before it "
            "finished (the machine went down, or it was stopped).",
            "Run `jupyter-bootstrap init` to finish the setup: it keeps what is done.",
        ]
    assert record.finished_at is not None
    where = f" at the {record.step} step" if record.step else ""
    news = [
        f"{who} failed {init_record.when(record.finished_at)}{where}: {record.message}",
        "Run `jupyter-bootstrap init` to repair it: it keeps what is done, does the rest"
        + (", and keeps the password given then." if record.first_boot else "."),
    ]
    if record.hint:
        news.append(f"What the error said to check: {record.hint}")
    news.append(f"The whole story is in the log: {log}")
    return news


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
        "kernels": kernels_document(ctx),
        "culling": culling_document(ctx),
        "stop_when_idle": stop_when_idle_document(ctx, datetime.now(timezone.utc)),
        "last_init": last_init_document(ctx),
    }


def last_init_document(ctx: Context) -> Optional[dict[str, Any]]:
    """The `last_init` object of `status --json`; null before the first init."""
    record = init_record.load(ctx.paths.state_dir)
    if record is None:
        return None
    running = run_lock.holder(ctx.paths.state_dir)
    return {**record._asdict(), "running": running is not None and running.command == "init"}


def print_status_json(ctx: Context) -> int:
    """Run the checks quietly, print one JSON document; the exit code is status's."""
    console = WarningsOnly()
    ctx.console = console
    report = converge(ctx, init_steps(), apply=False)
    document = status_document(ctx, report, console.warnings)
    click.echo(json.dumps(document, indent=2))
    return int(document["exit_code"])
