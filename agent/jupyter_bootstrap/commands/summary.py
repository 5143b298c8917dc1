"""What the user reads at the end: where to go, what to compare, what to check next."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jupyter_bootstrap.commands.guarded import follow_command

if TYPE_CHECKING:
    from jupyter_bootstrap.engine import Context, Report


def browser_host(ctx: Context) -> str:
    """The name to put in the URL: one the user chose, else the public name from instance
    metadata, else an address of this machine."""
    if ctx.settings.access == "tunnel":
        return "localhost"
    if ctx.settings.hostnames:
        return ctx.settings.hostnames[0]
    public = ctx.facts.public
    if public is not None and public.names:
        return public.names[0]
    others = [n for n in ctx.facts.cert_names if n not in ("localhost", "127.0.0.1")]
    return others[0] if others else "localhost"


def url(ctx: Context) -> str:
    return f"https://{browser_host(ctx)}:{ctx.settings.port}/"


def print_summary(ctx: Context) -> None:
    console = ctx.console
    console.info()
    console.heading("Jupyter is set up.")
    console.field("Open", url(ctx))
    certificate = ctx.facts.certificate
    if ctx.settings.own_certificate:
        console.field("Certificate", f"your own, {ctx.settings.certfile}")
    elif certificate is not None:
        fingerprint = certificate.fingerprint_sha256
        # Split in two halves at a colon so each fits a PuTTY line and reads in pairs.
        half = len(fingerprint) // 2 + 1
        console.field(
            "Certificate",
            "self-signed, so the browser warns once. Before you accept it, check that its "
            "SHA-256 fingerprint is:",
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
