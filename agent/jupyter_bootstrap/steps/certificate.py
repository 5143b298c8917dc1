"""Certificate: a TLS key and certificate Jupyter (running as the login user) can read,
covering every name the user will type into the browser."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from jupyter_bootstrap import certs, hostnames, netaddrs, public_address
from jupyter_bootstrap.engine import Context, Status, drift, good
from jupyter_bootstrap.errors import UserError
from jupyter_bootstrap.files import atomic_write, ensure_dir, read_bytes_or_none, set_mode

DIR_MODE = 0o700
KEY_MODE = 0o600
CERT_MODE = 0o644
NEW_CERTIFICATE = "new certificate"


@dataclass(frozen=True)
class CertificatePlan:
    certfile: Path
    keyfile: Path
    # True: a new key and certificate for `names`; False: the pair is good, only owners
    # and modes drifted (the certificate a browser may already trust is kept).
    regenerate: bool
    names: tuple[str, ...]
    key_type: str
    reason: str

    @property
    def action(self) -> str:
        if self.regenerate:
            return "generate a new key and self-signed certificate"
        return "fix owner and modes"

    @property
    def restart_reason(self) -> Optional[str]:
        return NEW_CERTIFICATE if self.regenerate else None


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


def decide(
    info: Optional[certs.CertificateInfo], problem: str, names: list[str], ownership: str
) -> tuple[Optional[bool], str]:
    """From what the pair is (`info`, None when unusable, and `problem` saying why), the
    names it must cover and what is wrong with owners and modes: (None, "") when all is
    well, else (whether to regenerate, why)."""
    if info is None or problem:
        return True, problem
    uncovered = info.uncovered(names)
    if uncovered:
        return True, "certificate does not cover " + ", ".join(uncovered)
    if ownership:
        return False, ownership
    return None, ""


class CertificateStep:
    name = "certificate"

    def check(self, ctx: Context) -> Status[CertificatePlan]:
        if ctx.settings.certfile and ctx.settings.keyfile:
            return self._check_own(ctx, Path(ctx.settings.certfile), Path(ctx.settings.keyfile))
        certfile, keyfile = ctx.paths.default_certfile, ctx.paths.default_keyfile
        ctx.facts.certfile, ctx.facts.keyfile = certfile, keyfile
        names = required_names(ctx)
        ctx.facts.cert_names = names
        info, problem = self._inspect(ctx, certfile, keyfile)
        wrong = self._ownership_drift(ctx, certfile, keyfile) if info is not None else ""
        regenerate, reason = decide(info, problem, names, wrong)
        if regenerate is None:
            assert info is not None
            return good(f"{certfile}, valid until {info.not_after:%Y-%m-%d}")
        return drift(reason, self._plan(ctx, regenerate, names, reason))

    @staticmethod
    def _plan(ctx: Context, regenerate: bool, names: list[str], reason: str) -> CertificatePlan:
        return CertificatePlan(
            certfile=ctx.paths.default_certfile,
            keyfile=ctx.paths.default_keyfile,
            regenerate=regenerate,
            names=tuple(names),
            key_type=ctx.settings.key_type,
            reason=reason,
        )

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

    def _check_own(self, ctx: Context, certfile: Path, keyfile: Path) -> Status[CertificatePlan]:
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
        return good(f"your own {certfile}, valid until {info.not_after:%Y-%m-%d}")

    def apply(self, ctx: Context, plan: CertificatePlan) -> str:
        owner = ctx.account.owner
        ensure_dir(plan.certfile.parent, DIR_MODE, owner)
        if not plan.regenerate:
            set_mode(plan.keyfile, KEY_MODE, owner)
            set_mode(plan.certfile, CERT_MODE, owner)
            return "fixed owner and modes of the certificate files"
        key_pem, cert_pem = certs.self_signed(list(plan.names), plan.key_type, certs.utc_now())
        # Key first: a crash in between leaves a mismatched pair, which the next run detects.
        atomic_write(plan.keyfile, key_pem, KEY_MODE, owner)
        atomic_write(plan.certfile, cert_pem, CERT_MODE, owner)
        kind = "RSA 2048" if plan.key_type == "rsa" else "EC P-256"
        return f"{plan.reason}: new {kind} certificate for {len(plan.names)} names"
