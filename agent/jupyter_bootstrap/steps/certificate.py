"""Certificate: a TLS key and certificate Jupyter (running as the login user) can read,
covering every name the user will type into the browser."""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Optional

from jupyter_bootstrap import certs, hostnames, netaddrs, public_address
from jupyter_bootstrap.engine import Context, Status
from jupyter_bootstrap.errors import UserError
from jupyter_bootstrap.files import atomic_write, ensure_dir, read_bytes_or_none

DIR_MODE = 0o700
KEY_MODE = 0o600
CERT_MODE = 0o644


def required_names(ctx: Context) -> list[str]:
    """Configured hostnames, the public name/address from instance metadata, localhost and
    this machine's own addresses: everything a browser or the health check may use."""
    if ctx.facts.public is None:
        ctx.facts.public = public_address.lookup()
    names: list[str] = []
    candidates = [
        *ctx.settings.hostnames,
        *ctx.facts.public.names,
        "localhost",
        "127.0.0.1",
        *netaddrs.interface_ipv4_addresses(),
    ]
    for candidate in candidates:
        try:
            name = hostnames.parse_hostname(candidate)
        except UserError:
            continue  # metadata answered something odd: leave it out rather than fail
        if name not in names:
            names.append(name)
    return names


def _read(path: Path) -> Optional[bytes]:
    try:
        return read_bytes_or_none(path)
    except UserError:
        return None


class CertificateStep:
    name = "certificate"
    title = "TLS certificate and key"

    def check(self, ctx: Context) -> Status:
        if ctx.settings.certfile and ctx.settings.keyfile:
            return self._check_own(ctx, Path(ctx.settings.certfile), Path(ctx.settings.keyfile))
        certfile, keyfile = ctx.paths.default_certfile, ctx.paths.default_keyfile
        ctx.facts.certfile, ctx.facts.keyfile = certfile, keyfile
        names = required_names(ctx)
        ctx.facts.cert_names = names
        info, problem = self._inspect(ctx, certfile, keyfile)
        if info is None or problem:
            return Status.drift(problem, "generate a new key and self-signed certificate")
        uncovered = info.covers(names)
        if uncovered:
            return Status.drift(
                "certificate does not cover " + ", ".join(uncovered),
                "generate a new key and self-signed certificate",
            )
        wrong = self._ownership_drift(ctx, certfile, keyfile)
        if wrong:
            return Status.drift(wrong, "fix owner and modes")
        return Status.good(f"{certfile}, valid until {info.not_after:%Y-%m-%d}")

    def _inspect(
        self, ctx: Context, certfile: Path, keyfile: Path
    ) -> tuple[Optional[certs.CertificateInfo], str]:
        cert_pem, key_pem = _read(certfile), _read(keyfile)
        if cert_pem is None or key_pem is None:
            missing = certfile if cert_pem is None else keyfile
            return None, f"{missing} is missing or unreadable"
        try:
            info = certs.inspect(cert_pem, key_pem)
        except certs.BadCertificate as error:
            return None, f"{certfile} / {keyfile}: {error}"
        if not info.key_matches:
            return None, f"{keyfile} does not belong to {certfile}"
        if info.not_after - certs.utc_now() < datetime.timedelta(days=certs.RENEW_BEFORE_DAYS):
            return None, f"certificate expires {info.not_after:%Y-%m-%d}"
        ctx.facts.certificate = info
        return info, ""

    def _ownership_drift(self, ctx: Context, certfile: Path, keyfile: Path) -> str:
        wrong = []
        for path, mode in ((certfile.parent, DIR_MODE), (keyfile, KEY_MODE), (certfile, CERT_MODE)):
            info = path.stat()
            if info.st_mode & 0o7777 != mode:
                wrong.append(f"{path} has mode {info.st_mode & 0o7777:o}, should be {mode:o}")
            if info.st_uid != ctx.account.uid:
                wrong.append(f"{path} is not owned by {ctx.account.name}")
        return "; ".join(wrong)

    def _check_own(self, ctx: Context, certfile: Path, keyfile: Path) -> Status:
        """The user's own pair (e.g. from certbot) is validated, never changed."""
        ctx.facts.certfile, ctx.facts.keyfile = certfile, keyfile
        for path in (certfile, keyfile):
            if not ctx.account.can_read(path):
                raise UserError(
                    f"{path} is missing or {ctx.account.name} cannot read it",
                    hint=f"check the path and its permissions (ls -l {path})",
                )
        info, problem = self._inspect(ctx, certfile, keyfile)
        if info is None:
            raise UserError(
                f"your certificate cannot be used: {problem}",
                hint="pass a matching, unexpired PEM pair with --certfile/--keyfile",
            )
        ctx.facts.cert_names = sorted(info.dns_names | info.ip_addresses)
        return Status.good(f"your own {certfile}, valid until {info.not_after:%Y-%m-%d}")

    def apply(self, ctx: Context, found: Status) -> str:
        certfile, keyfile = ctx.paths.default_certfile, ctx.paths.default_keyfile
        owner = ctx.account.owner
        ensure_dir(certfile.parent, DIR_MODE, owner)
        info, _ = self._inspect(ctx, certfile, keyfile)
        if info is not None and not info.covers(ctx.facts.cert_names):
            # Only owner/modes drifted: keep the certificate the browser may already trust.
            for path, mode in ((keyfile, KEY_MODE), (certfile, CERT_MODE)):
                os.chmod(path, mode)
                if os.geteuid() == 0:
                    os.chown(path, owner.uid, owner.gid)
            return "fixed owner and modes of the certificate files"
        key_pem, cert_pem = certs.self_signed(
            ctx.facts.cert_names, ctx.settings.key_type, certs.utc_now()
        )
        # Key first: a crash in between leaves a mismatched pair, which the next run detects.
        atomic_write(keyfile, key_pem, KEY_MODE, owner)
        atomic_write(certfile, cert_pem, CERT_MODE, owner)
        ctx.request_restart("new certificate")
        kind = "RSA 2048" if ctx.settings.key_type == "rsa" else "EC P-256"
        return f"{found.summary}: new {kind} certificate for {len(ctx.facts.cert_names)} names"
