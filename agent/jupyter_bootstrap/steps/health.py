"""Health: the server answers over verified HTTPS and refuses anyone without the password.
Nothing here changes the machine: "apply" waits a little longer, then explains the failure."""

from __future__ import annotations

import time
from pathlib import Path
from typing import NamedTuple, Optional

from jupyter_bootstrap import https_probe
from jupyter_bootstrap.engine import Context, Status, drift, good
from jupyter_bootstrap.errors import StepFailed
from jupyter_bootstrap.service import journal as service_journal
from jupyter_bootstrap.service import systemctl
from jupyter_bootstrap.service.unit import unit_name

# How long a just-started server may take (a cold conda prefix on a small instance is slow).
STARTUP_TIMEOUT = 60.0
JOURNAL_LINES = 30

# Log lines that give a crash away, checked in this order; {port} is filled in.
JOURNAL_CAUSES = (
    (
        # Jupyter logs a broken config file and then starts without it, on its defaults.
        ("Exception while loading config file", "SyntaxError"),
        "Jupyter could not load its config, so it ignored it: fix the lines around the "
        "error shown above in {config} (outside the jupyter-bootstrap block), then run "
        "`jupyter-bootstrap init`",
    ),
    (
        ("Address already in use", "is already in use"),
        "another program holds port {port}: find it with `sudo ss -ltnp 'sport = :{port}'`, "
        "stop it, or choose another port with `jupyter-bootstrap init --port N`",
    ),
    (
        ("Permission denied",),
        "Jupyter cannot open a file it needs (certificate, key, config or notebook folder): "
        "`jupyter-bootstrap init` repairs owners and modes",
    ),
    (
        ("No module named", "ModuleNotFoundError", "ImportError"),
        "the Jupyter environment is broken: reinstall it (e.g. `conda install notebook` in the "
        "prefix), then run `jupyter-bootstrap init`",
    ),
)

PROBE_CAUSES = {
    https_probe.REFUSED: "Jupyter is not listening: it crashed at start (see its log above) or "
    "listens on another port; `jupyter-bootstrap init` rewrites the config",
    https_probe.TIMEOUT: "the server accepts connections but does not answer: it may be "
    "overloaded or stuck; try `jupyter-bootstrap restart`",
    https_probe.TLS_VERIFY: "the server presents another certificate than {certfile}: another "
    "server holds the port, or this one was not restarted after the certificate changed "
    "(`jupyter-bootstrap restart`)",
    https_probe.TLS_HANDSHAKE: "Jupyter cannot use its key or certificate (unreadable, or not "
    "a pair): `jupyter-bootstrap init` repairs them",
    https_probe.NOT_JUPYTER: "another program answers on port {port}: stop it or choose "
    "another port with `jupyter-bootstrap init --port N`",
    https_probe.OPEN: "a setting outside the managed block turns the password off (a token or "
    "password override, or a jupyter_server_config.json): check {config}",
}


class HealthPlan(NamedTuple):
    """Give the server until `deadline` (time.monotonic()) to answer, then explain."""

    deadline: Optional[float]  # None: from the moment apply starts waiting

    @property
    def action(self) -> str:
        return "wait for the server to answer"

    @property
    def restart_reason(self) -> Optional[str]:
        return None


def _certfile(ctx: Context) -> Path:
    return ctx.certificate_files[0]


def probe_target(ctx: Context) -> https_probe.ProbeTarget:
    settings = ctx.settings
    return https_probe.target_for(
        settings.port,
        _certfile(ctx),
        settings.own_certificate,
        settings.hostnames,
        from_ca=settings.letsencrypt,
        ca_bundle=settings.acme_ca_bundle,
        facts=ctx.facts.certificate,
    )


def likely_cause(ctx: Context, result: https_probe.ProbeResult, journal: str) -> str:
    values = {
        "port": ctx.settings.port,
        "certfile": str(_certfile(ctx)),
        "config": str(ctx.facts.config_file or ctx.paths.jupyter_dir),
    }
    if result.kind in (https_probe.REFUSED, https_probe.TIMEOUT):
        for needles, cause in JOURNAL_CAUSES:
            if any(needle in journal for needle in needles):
                return cause.format(**values)
    return PROBE_CAUSES.get(result.kind, "see the log above").format(**values)


class HealthStep:
    name = "health"

    def check(self, ctx: Context) -> Status[HealthPlan]:
        if ctx.settings.no_service:
            return good("not checked (--no-service): start Jupyter by hand first")
        started = ctx.run.service_started_at
        deadline = started + STARTUP_TIMEOUT if started is not None else None
        if not _certfile(ctx).is_file():
            return drift("no certificate to verify the server with yet", HealthPlan(deadline))
        # Just (re)started by us: waiting for it is part of reading its state. Otherwise one
        # quick look, so `status` stays fast.
        result, _ = https_probe.wait(probe_target(ctx), deadline or 0.0)
        if result.ok:
            return good(result.summary)
        return drift(result.summary, HealthPlan(deadline))

    def apply(self, ctx: Context, plan: HealthPlan) -> str:
        deadline = plan.deadline or time.monotonic() + STARTUP_TIMEOUT
        result, waited = https_probe.wait(probe_target(ctx), deadline)
        if result.ok:
            return f"{result.summary} (after {waited:.0f} s)"
        unit = unit_name(ctx.settings.service_name)
        journal = service_journal.journal_tail(unit, JOURNAL_LINES) if systemctl.is_booted() else ""
        raise StepFailed(
            f"Jupyter does not work over HTTPS: {result.summary}",
            hint=likely_cause(ctx, result, journal),
            details=journal or None,
        )
