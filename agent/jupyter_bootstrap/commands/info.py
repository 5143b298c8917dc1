"""`jupyter-bootstrap info`: how to reach the server from the user's own computer, at any
time. The addresses, the certificate (issuer, fingerprint, expiry), the security group rule
or the SSH tunnel, and how to make the browser trust the certificate, with this instance's
names filled in. Text for people, or one JSON document for scripts (docs/info-json.md).

It reads and never repairs: `status` says what drifted, `init` repairs it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, NamedTuple, Optional

import click

from jupyter_bootstrap import (
    __version__,
    access_guide,
    public_address,
    renewal_record,
    trust_anchor,
)
from jupyter_bootstrap.access_guide import Reach
from jupyter_bootstrap.commands.cert import ServedCertificate, require_setup, served_certificate
from jupyter_bootstrap.commands.housekeeping import (
    culling_document,
    kernels_document,
    print_fields,
    stop_when_idle_document,
)
from jupyter_bootstrap.commands.summary import ca_trust, urls
from jupyter_bootstrap.console import duration
from jupyter_bootstrap.engine import Context
from jupyter_bootstrap.errors import EXIT_OK, BootstrapError
from jupyter_bootstrap.renewal_record import RenewalRecord
from jupyter_bootstrap.service import renewal_units, systemctl, unit

INFO_SCHEMA_VERSION = 1
APP_NAMES = {"notebook": "Jupyter Notebook", "lab": "JupyterLab"}
INDENT = "    "


class ServiceView(NamedTuple):
    name: str
    managed: bool  # false with --no-service: Jupyter is started by hand
    systemd: bool
    active: bool
    uptime_seconds: Optional[int]


class CertificateView(NamedTuple):
    file: str
    kind: str  # self-signed (made by jupyter-bootstrap) | letsencrypt (an ACME CA) | own
    subject: Optional[str]
    issuer: Optional[str]
    fingerprint_sha256: Optional[str]
    not_before: Optional[str]
    not_after: Optional[str]
    names: list[str]
    # Whether a browser must be told to trust it (false for a chain that ends at a CA not
    # in the file, e.g. one a browser already trusts).
    trust_needed: bool
    problem: Optional[str]  # why it could not be read; the other fields are then null
    # letsencrypt only: a self-signed certificate stands in because the CA's expired and
    # the CA could not be reached.
    fallback: bool = False


class RenewalView(NamedTuple):
    """How the certificate is kept fresh, and how the last attempt went."""

    automatic: bool  # a timer of ours renews it (and the boot refreshes it)
    timer: Optional[str]
    last_attempt: Optional[str]  # UTC, YYYY-MM-DDTHH:MM:SSZ
    last_ok: Optional[bool]
    last_detail: Optional[str]


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def certificate_kind(ctx: Context) -> str:
    if ctx.settings.own_certificate:
        return "own"
    return "letsencrypt" if ctx.settings.letsencrypt else "self-signed"


def _certificate_view(ctx: Context) -> CertificateView:
    kind = certificate_kind(ctx)
    try:
        served: ServedCertificate = served_certificate(ctx)
    except BootstrapError as error:
        path = str(ctx.certificate_files[0])
        return CertificateView(path, kind, None, None, None, None, None, [], True, error.message)
    details = served.details
    fallback = kind == "letsencrypt" and details.self_signed
    return CertificateView(
        file=str(served.path),
        kind=kind,
        subject=details.subject,
        issuer=details.issuer,
        fingerprint_sha256=details.fingerprint_sha256,
        not_before=_iso(details.not_before),
        not_after=_iso(details.not_after),
        names=list(details.names),
        trust_needed=trust_anchor.anchor(served.chain)[1],
        problem=None,
        fallback=fallback,
    )


def _renewal_view(ctx: Context, record: Optional[RenewalRecord]) -> RenewalView:
    automatic = not ctx.settings.no_service and not ctx.settings.own_certificate
    return RenewalView(
        automatic=automatic,
        timer=renewal_units.timer_name_for(ctx.settings.service_name) if automatic else None,
        last_attempt=record.attempted_at if record else None,
        last_ok=record.ok if record else None,
        last_detail=record.detail if record else None,
    )


def _service_view(ctx: Context) -> ServiceView:
    name = unit.unit_name(ctx.settings.service_name)
    managed = not ctx.settings.no_service
    if not managed or not systemctl.is_booted():
        return ServiceView(name, managed, systemctl.is_booted(), False, None)
    state = systemctl.state(name)
    uptime = state.uptime_seconds
    return ServiceView(
        name, managed, True, state.active, int(uptime) if uptime is not None else None
    )


class Info(NamedTuple):
    user: str
    app: str
    access: str
    port: int
    bind: str
    urls: list[str]
    public: public_address.PublicAddress
    reach: Reach
    certificate: CertificateView
    renewal: RenewalView
    service: ServiceView
    challenge_ports: Optional[tuple[int, int]]  # (tls-alpn-01, http-01) for a CA's checks
    # Kernels for environments, idle culling, stopping when idle: the settings, as documents.
    kernels: dict[str, Any]
    culling: dict[str, Any]
    stop_when_idle: dict[str, Any]


def gather(ctx: Context) -> Info:
    require_setup(ctx)
    public = public_address.lookup()
    ctx.facts.public = public
    record = renewal_record.load(ctx.paths.state_dir)
    certificate = _certificate_view(ctx)
    ctx.facts.cert_names = certificate.names
    settings = ctx.settings
    # The name to ssh to: what the instance says it is called in public, else a name the
    # user gave; unknown (a placeholder) otherwise.
    host = next(iter(public.names), None) or next(iter(settings.hostnames), None)
    return Info(
        user=ctx.account.name,
        app=settings.app,
        access=settings.access,
        port=settings.port,
        bind=settings.bind_ip,
        urls=urls(ctx),
        public=public,
        reach=Reach(ctx.account.name, host, settings.port, settings.access),
        certificate=certificate,
        renewal=_renewal_view(ctx, record),
        service=_service_view(ctx),
        challenge_ports=(settings.acme_tls_alpn_port, settings.acme_http_port)
        if settings.letsencrypt
        else None,
        kernels=kernels_document(ctx),
        culling=culling_document(ctx),
        stop_when_idle=stop_when_idle_document(ctx),
    )


# -- JSON -------------------------------------------------------------------------------------


def document(info: Info) -> dict[str, Any]:
    """The `info --json` document (schema in docs/info-json.md)."""
    reach = info.reach
    copy = access_guide.copy_commands(reach)
    return {
        "schema_version": INFO_SCHEMA_VERSION,
        "agent_version": __version__,
        "ok": True,
        "exit_code": EXIT_OK,
        "error": None,
        "user": info.user,
        "app": info.app,
        "access": info.access,
        "port": info.port,
        "bind": info.bind,
        "url": info.urls[0],
        "urls": info.urls,
        "public": {
            "hostname": info.public.hostname,
            "ipv4": info.public.ipv4,
            "ipv6": info.public.ipv6,
        },
        "ssh_target": reach.ssh_target,
        "service": info.service._asdict(),
        "certificate": info.certificate._asdict(),
        "renewal": info.renewal._asdict(),
        "kernels": info.kernels,
        "culling": info.culling,
        "stop_when_idle": info.stop_when_idle,
        "security_group": {
            "inbound_rules": [rule._asdict() for rule in _rules(info)],
        },
        "tunnel": {
            "local_port": info.port,
            "openssh": access_guide.tunnel_command(reach),
            "putty": access_guide.putty_tunnel_steps(reach),
        }
        if info.access == "tunnel"
        else None,
        "trust": {
            "needed": info.certificate.trust_needed,
            "file": access_guide.EXPORT_FILE,
            "export": access_guide.export_command(),
            "copy": copy._asdict(),
            "import": [step._asdict() for step in access_guide.trust_steps()],
        },
    }


def error_document(error: BootstrapError) -> dict[str, Any]:
    return {
        "schema_version": INFO_SCHEMA_VERSION,
        "agent_version": __version__,
        "ok": False,
        "exit_code": error.exit_code,
        "error": {"message": error.message, "hint": error.hint},
    }


@contextmanager
def json_errors(as_json: bool) -> Iterator[None]:
    """With --json, stdout is a JSON document whatever happens: an error becomes one too
    (and still goes to stderr as the usual line, with the usual exit code)."""
    try:
        yield
    except BootstrapError as error:
        if as_json:
            click.echo(json.dumps(error_document(error), indent=2))
        raise


# -- text -------------------------------------------------------------------------------------


def info(ctx: Context, as_json: bool) -> None:
    facts = gather(ctx)
    if as_json:
        click.echo(json.dumps(document(facts), indent=2))
        return
    _print(ctx, facts)


def _literal(text: str, indent: str = INDENT) -> None:
    """A command to copy: never wrapped, whatever its length."""
    click.echo(indent + text)


def _print(ctx: Context, info: Info) -> None:
    console = ctx.console
    app = APP_NAMES.get(info.app, info.app)
    console.heading(f"{app} for {info.user}, {_service_line(info.service)}")
    console.info()
    console.field("Open", info.urls[0])
    for other in info.urls[1:]:
        console.field("", other)
    console.field("Password", "the one you chose (change it: `jupyter-bootstrap password`)")
    console.info()
    _print_certificate(ctx, info.certificate)
    _print_renewal(ctx, info.renewal)
    console.info()
    print_fields(ctx)
    console.info()
    if info.access == "tunnel":
        _print_tunnel(ctx, info)
    else:
        _print_public(ctx, info)
    if info.certificate.trust_needed:
        console.info()
        _print_trust(ctx, info)
    elif info.certificate.issuer is not None:
        console.info()
        console.info(
            f"The certificate is issued by {info.certificate.issuer}: a browser that trusts that "
            "issuer (as every browser trusts the public ones) shows no warning; there is "
            "nothing to import."
        )
    if "KEY.p" in access_guide.copy_commands(info.reach).scp:
        console.info()
        console.info(
            "KEY.pem / KEY.ppk: the key pair file you chose when you launched the instance "
            "(PuTTYgen turns a .pem into a .ppk)."
            + (
                " HOST: the instance's Public IPv4 DNS, from the EC2 console."
                if info.reach.host is None
                else ""
            )
        )


def _service_line(service: ServiceView) -> str:
    if not service.managed:
        return "started by hand (--no-service)"
    if not service.systemd:
        return "no systemd on this machine"
    if service.active and service.uptime_seconds is not None:
        return f"running for {duration(service.uptime_seconds)} ({service.name})"
    return f"NOT running ({service.name}: `jupyter-bootstrap status` says why)"


def _print_certificate(ctx: Context, certificate: CertificateView) -> None:
    console = ctx.console
    if certificate.problem is not None:
        console.field("Certificate", f"{certificate.problem}; `jupyter-bootstrap init` repairs it")
        return
    assert certificate.fingerprint_sha256 is not None and certificate.not_after is not None
    made = {
        "self-signed": "self-signed by jupyter-bootstrap",
        "letsencrypt": f"from {certificate.issuer}, {ca_trust(ctx)}",
        "own": f"yours, issued by {certificate.issuer}",
    }[certificate.kind]
    if certificate.fallback:
        made = (
            "self-signed, standing in: the one from the CA expired and a new one could not be had"
        )
    until = certificate.not_after[:16].replace("T", " ")
    console.field("Certificate", f"{made}, valid until {until} UTC")
    fingerprint = certificate.fingerprint_sha256
    # Two halves split at a colon: each fits a PuTTY line and reads in pairs.
    half = len(fingerprint) // 2 + 1
    console.field("SHA-256", fingerprint[:half])
    console.field("", fingerprint[half:])
    console.field("Names", ", ".join(certificate.names) or "(none)")
    console.field("File", certificate.file)


def _print_renewal(ctx: Context, renewal: RenewalView) -> None:
    console = ctx.console
    if renewal.automatic:
        console.field(
            "Renewal",
            f"automatic, never restarting Jupyter: {renewal.timer} twice a day and at boot",
        )
    elif not ctx.settings.own_certificate:
        console.field("Renewal", "by hand: `jupyter-bootstrap cert renew` (no systemd service)")
    if renewal.last_attempt is not None and not renewal.last_ok:
        when = renewal.last_attempt.replace("T", " ").rstrip("Z")
        console.field("Last try", f"FAILED at {when} UTC: {renewal.last_detail}")


def _rules(info: Info) -> list[access_guide.InboundRule]:
    return access_guide.inbound_rules(info.reach, info.challenge_ports)


def _rule_table(info: Info) -> None:
    rules = _rules(info)
    header = ("Type", "Protocol", "Port range", "Source", "For")
    rows = [header] + [
        (rule.type, rule.protocol, str(rule.port), rule.source, rule.why) for rule in rules
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths)]
        _literal("  ".join(cells).rstrip())


def _print_public(ctx: Context, info: Info) -> None:
    console = ctx.console
    console.info(
        "Security group: the instance's inbound rules must let your computer in (EC2 console "
        "> Instances > your instance > Security > its security group > Edit inbound rules):"
    )
    _rule_table(info)
    console.info(
        f"If the browser waits and then times out, port {info.port} is closed on the way (the "
        'security group, or a firewall on your side). If it fails at once with "connection '
        'refused", the port is open but Jupyter is not running: run `jupyter-bootstrap '
        "status` here."
    )


def _print_tunnel(ctx: Context, info: Info) -> None:
    console = ctx.console
    reach = info.reach
    console.info(
        f"Access: through an SSH tunnel only. Jupyter listens on 127.0.0.1:{info.port} on the "
        "instance, so open the tunnel, then the address above on your own computer."
    )
    console.info("With PuTTY (Windows):")
    for number, step in enumerate(access_guide.putty_tunnel_steps(reach), start=1):
        console.hanging(f"  {number}. ", step)
    console.info("With OpenSSH (Windows 10+ PowerShell, macOS, Linux), left running:")
    _literal(access_guide.tunnel_command(reach))
    console.info("Security group: only this inbound rule is needed; Jupyter's port stays closed.")
    _rule_table(info)
    console.info(
        f"If the browser fails at once, the tunnel is not open (PuTTY closed, ssh stopped), or "
        f"port {info.port} on your computer is taken by another program: use another source "
        'port and that port in the address. If ssh prints "connect failed" (PuTTY\'s Event '
        'Log: "Forwarded connection refused by remote"), Jupyter is not running: run '
        "`jupyter-bootstrap status` here."
    )


def _print_trust(ctx: Context, info: Info) -> None:
    console = ctx.console
    copy = access_guide.copy_commands(info.reach)
    console.info(
        "No more certificate warning: trust this certificate on your computer (once per "
        "computer; after a new certificate, again)."
    )
    console.info("  1. Here, on the instance, export it:")
    _literal(access_guide.export_command(), INDENT + "   ")
    console.info("  2. On your computer, copy it off the instance:")
    _literal(f"PuTTY:   {copy.pscp}", INDENT + "   ")
    _literal(f"OpenSSH: {copy.scp}", INDENT + "   ")
    console.info("  3. Trust it as a root certificate, then restart the browser:")
    for step in access_guide.trust_steps():
        console.hanging("     - ", step.where + ":")
        if step.command:
            _literal(step.command, INDENT + "     ")
        if step.steps:
            console.hanging(INDENT + "     ", step.steps)
