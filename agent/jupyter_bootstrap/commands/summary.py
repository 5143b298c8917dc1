"""What the user reads at the end: where to go, what to compare, what to check next."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from jupyter_bootstrap.acme_directory import DEFAULT_DIRECTORY_URL
from jupyter_bootstrap.commands.guarded import follow_command
from jupyter_bootstrap.commands.housekeeping import stop_line
from jupyter_bootstrap.steps.certificate import acme_directory

if TYPE_CHECKING:
    from jupyter_bootstrap.engine import Context, Report


def browser_names(ctx: Context) -> list[str]:
    """Every name to put in a URL, best first: the ones the user chose, then the public name
    and address from instance metadata when the certificate covers them (or is not known);
    failing those an address of this machine. Through a tunnel: localhost."""
    if ctx.settings.access == "tunnel":
        return ["localhost"]
    covered = set(ctx.facts.cert_names)
    public = ctx.facts.public.names if ctx.facts.public is not None else []
    names = list(ctx.settings.hostnames)
    for name in public:
        if name not in names and (not covered or name in covered):
            names.append(name)
    if names:
        return names
    others = [n for n in ctx.facts.cert_names if n not in ("localhost", "127.0.0.1")]
    return others[:1] or ["localhost"]


def urls(ctx: Context) -> list[str]:
    # An IPv6 address goes in brackets in a URL, or its colons read as the port's.
    hosts = [f"[{name}]" if ":" in name else name for name in browser_names(ctx)]
    return [f"https://{host}:{ctx.settings.port}/" for host in hosts]


def url(ctx: Context) -> str:
    return urls(ctx)[0]


def _issuer_from_the_ca(ctx: Context) -> Optional[str]:
    """Who issued the certificate served now, when it is one from the CA (--certificate
    letsencrypt); None for a self-signed one, including the stand-in while the CA cannot be
    reached. From what the certificate step found in the file this run."""
    certificate = ctx.facts.certificate
    if not ctx.settings.letsencrypt or certificate is None or certificate.self_issued:
        return None
    return certificate.issuer


def ca_trust(ctx: Context) -> str:
    """Who trusts a certificate from the CA: everyone, for Let's Encrypt's."""
    if acme_directory(ctx) == DEFAULT_DIRECTORY_URL:
        return "trusted by every browser (no warning)"
    return "no warning in a browser that trusts that CA"


def print_summary(ctx: Context) -> None:
    """The short form of `info`: where to go, what to compare, and where the rest is."""
    console = ctx.console
    console.info()
    console.heading("Jupyter is set up.")
    console.field("Open", url(ctx))
    certificate = ctx.facts.certificate
    issuer = _issuer_from_the_ca(ctx)
    if ctx.settings.own_certificate:
        console.field("Certificate", f"your own, {ctx.settings.certfile}")
    elif issuer is not None and certificate is not None:
        console.field(
            "Certificate",
            f"from {issuer}, {ca_trust(ctx)}, valid until "
            f"{certificate.not_after:%Y-%m-%d %H:%M} UTC and renewed automatically",
        )
    elif certificate is not None:
        fingerprint = certificate.fingerprint_sha256
        # Split in two halves at a colon so each fits a PuTTY line and reads in pairs.
        half = len(fingerprint) // 2 + 1
        console.field(
            "Certificate",
            "self-signed, so the browser warns until you trust it. Before you accept the "
            "warning, check that its SHA-256 fingerprint is:",
        )
        console.field("", fingerprint[:half])
        console.field("", fingerprint[half:])
    port = ctx.settings.port
    if ctx.settings.access == "tunnel":
        console.field(
            "Access",
            f"only through an SSH tunnel. In PuTTY: Connection > SSH > Tunnels, source port "
            f"{port}, destination localhost:{port}, Add; then reconnect.",
        )
    else:
        console.field(
            "Firewall",
            f"the instance's security group must allow inbound TCP {port} from your IP "
            "address (source: My IP), and nothing wider.",
        )
        if ctx.settings.letsencrypt:
            console.field(
                "",
                f"Keep TCP {ctx.settings.acme_tls_alpn_port} (or {ctx.settings.acme_http_port})"
                " open to anywhere too: Let's Encrypt checks this machine from its own "
                "addresses at every renewal.",
            )
    console.field(
        "More",
        "`jupyter-bootstrap info`: every address, the security group rule or the SSH tunnel "
        "step by step, and how to make your browser trust the certificate (no more warning).",
    )
    if ctx.settings.stop_when_idle:
        console.field("Idle stop", stop_line(ctx))
    for note in ctx.run.notes:
        console.field("Note", note)
    console.field(
        "Later", "run `jupyter-bootstrap init` again any time: it repairs whatever drifted."
    )
    follow = follow_command(ctx)
    if follow:
        console.field("Log", f"{follow} (from another session)")


def print_status_footer(ctx: Context, report: Report) -> None:
    console = ctx.console
    console.info()
    if report.drifted:
        names = ", ".join(o.step for o in report.drifted)
        console.info(f"Drift found in: {names}. Run `jupyter-bootstrap init` to repair it.")
    else:
        console.info(f"All good. Jupyter: {url(ctx)}")
