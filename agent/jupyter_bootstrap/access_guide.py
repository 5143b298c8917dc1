"""How to reach the server from the user's own computer, with this instance's real names
filled in: the security-group rule, the SSH tunnel, and how to make a browser trust the
certificate. Pure data from a few facts, so that `info`'s text and its JSON say the same.

What cannot be known here stays a placeholder in capitals: the key pair file (`KEY.pem` for
OpenSSH, `KEY.ppk` for PuTTY: chosen at launch, it never reaches the instance) and, without
instance metadata or a --hostname, the instance's public name (`HOST`)."""

from __future__ import annotations

from typing import NamedTuple, Optional

# Where `cert export` is told to write in the instructions: the login user's home, so that
# `pscp`/`scp` name it without a path.
EXPORT_FILE = "jupyter.crt"
HOST_PLACEHOLDER = "HOST"
SSH_PORT = 22


class Reach(NamedTuple):
    """The facts every instruction is made from."""

    user: str  # the login user (ssh's user@)
    host: Optional[str]  # the public name or address to ssh to; None when not known
    port: int  # Jupyter's port on the instance
    access: str  # public | tunnel

    @property
    def ssh_target(self) -> str:
        return f"{self.user}@{self.host or HOST_PLACEHOLDER}"


class InboundRule(NamedTuple):
    """One row of the security group's inbound rules, in the EC2 console's own words."""

    type: str
    protocol: str
    port: int
    source: str
    why: str


def inbound_rules(
    reach: Reach, challenge_ports: Optional[tuple[int, int]] = None
) -> list[InboundRule]:
    """The rules the security group needs. `challenge_ports` (tls-alpn-01, http-01): where a
    CA checks this machine before it issues or renews a certificate; it connects from its
    own addresses, so that rule is open to anywhere (one of the two ports is enough)."""
    if reach.access == "tunnel":
        # Jupyter's own port stays closed: the tunnel rides inside the SSH connection.
        return [InboundRule("SSH", "TCP", SSH_PORT, "My IP", "PuTTY or ssh, and the tunnel")]
    rules = [
        InboundRule("SSH", "TCP", SSH_PORT, "My IP", "PuTTY or ssh"),
        InboundRule("Custom TCP", "TCP", reach.port, "My IP", "Jupyter over HTTPS"),
    ]
    if challenge_ports is not None:
        tls_alpn, http = challenge_ports
        kind = "HTTPS" if tls_alpn == 443 else "Custom TCP"
        why = f"Let's Encrypt's check (or TCP {http} instead)"
        rules.append(InboundRule(kind, "TCP", tls_alpn, "Anywhere-IPv4", why))
    return rules


def tunnel_command(reach: Reach) -> str:
    """One line for OpenSSH (built into Windows 10+, macOS and Linux): -N forwards without
    opening a shell, so it stays up until Ctrl-C."""
    forward = f"{reach.port}:localhost:{reach.port}"
    return f"ssh -i KEY.pem -N -L {forward} {reach.ssh_target}"


def putty_tunnel_steps(reach: Reach) -> list[str]:
    return [
        "In PuTTY, load your saved session (or type the instance's name in Session).",
        f"Connection > SSH > Tunnels: Source port {reach.port}, "
        f"Destination localhost:{reach.port}, then Add.",
        "Session > Save (so the tunnel is there next time), then Open and log in.",
        "Keep that PuTTY window open while you use Jupyter: closing it closes the tunnel.",
    ]


def export_command() -> str:
    return f"jupyter-bootstrap cert export -o ~/{EXPORT_FILE}"


class CopyCommands(NamedTuple):
    """How to copy the exported certificate from the instance to the computer in front of
    the user (run there, not on the instance)."""

    pscp: str  # PuTTY's own copy tool, on Windows
    scp: str  # OpenSSH: Windows 10+ (PowerShell), macOS, Linux


def copy_commands(reach: Reach) -> CopyCommands:
    source = f"{reach.ssh_target}:{EXPORT_FILE}"
    return CopyCommands(pscp=f"pscp -i KEY.ppk {source} .", scp=f"scp -i KEY.pem {source} .")


class TrustStep(NamedTuple):
    """How one system or browser is made to trust the certificate as a root."""

    system: str  # windows | macos | firefox | linux
    where: str  # which browsers use that store, and where to type the command
    command: Optional[str]  # None: there is no command, only `steps`
    steps: str  # the way by hand (a dialog), or what the command asks


def trust_steps() -> list[TrustStep]:
    name = EXPORT_FILE
    return [
        TrustStep(
            "windows",
            "Windows (Edge, Chrome): in a normal Command Prompt, no administrator needed",
            f"certutil -user -addstore Root {name}",
            f"Windows asks once to confirm. Or by hand: double-click {name} > Install "
            "Certificate > Current User > Place all certificates in the following store > "
            "Trusted Root Certification Authorities.",
        ),
        TrustStep(
            "macos",
            "macOS (Safari, Chrome): in Terminal",
            f"security add-trusted-cert -r trustRoot -k ~/Library/Keychains/login.keychain-db "
            f"{name}",
            "macOS asks for your login password once.",
        ),
        TrustStep(
            "firefox",
            "Firefox (its own store, on every system)",
            None,
            f"Settings > Privacy & Security > Certificates > View Certificates > Authorities > "
            f'Import {name}, tick "Trust this CA to identify websites", OK.',
        ),
        TrustStep(
            "linux",
            "Linux (Chrome, Chromium): in a terminal, with libnss3-tools installed",
            f"certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n jupyter-bootstrap -i {name}",
            "",
        ),
    ]
