"""Certificate: a TLS key and certificate Jupyter (running as the login user) can read,
covering every name the user will type into the browser."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Optional
from urllib.parse import urlsplit

from jupyter_bootstrap import (
    acme_names,
    acme_privilege,
    certificate_facts,
    hostnames,
    kill_points,
    netaddrs,
    public_address,
    renewal_record,
)
from jupyter_bootstrap.acme_directory import DEFAULT_DIRECTORY_URL, directory_url
from jupyter_bootstrap.acme_ports import ChallengePorts
from jupyter_bootstrap.engine import Context, Status, drift, good
from jupyter_bootstrap.errors import StepFailed, UserError
from jupyter_bootstrap.files import (
    atomic_write,
    ensure_dir,
    read_bytes_or_none,
    set_mode,
    write_backup,
)
from jupyter_bootstrap.service import systemctl

if TYPE_CHECKING:
    # The ACME client is imported where a certificate is really ordered, and cryptography
    # (certs, trust_anchor) where one is made or read for the first time: a check of one
    # that did not change (and `status`) needs neither.
    from jupyter_bootstrap.acme_errors import AcmeFailed

DIR_MODE = 0o700
# The key and the certificate share one file (see paths.default_certfile): it is secret.
FILE_MODE = 0o600
NEW_CERTIFICATE = "new certificate"
# certs.self_signed puts this in the subject, and the subject is the issuer: how a
# certificate of ours is told from one made by hand (the old tutorial's `openssl req`).
OUR_ORGANIZATION = "jupyter-bootstrap"
# init and status insist on a CA certificate with this much life left; the renewal timer
# acts much earlier (a third of the lifetime).
CA_MINIMUM_LEFT = datetime.timedelta(hours=24)


@dataclass(frozen=True)
class CertificatePlan:
    """What the certificate step will do. A dataclass, not a NamedTuple like the other
    plans: the private key bytes it may carry must stay out of its repr."""

    certfile: Path  # key and certificate, one file
    # True: a new key and certificate for `names`; False: the pair is good, only its layout
    # (a key still in a file of its own), owners or modes drifted (the certificate a
    # browser may already trust is kept).
    regenerate: bool
    names: tuple[str, ...]
    key_type: str
    reason: str
    # The key's file of its own, removed once the key is in certfile.
    separate_keyfile: Optional[Path] = None
    # The good pair's bytes, when only the layout drifted: joined into one file as they are.
    keep: Optional[tuple[bytes, bytes]] = field(default=None, repr=False)
    # Files at the default paths that jupyter-bootstrap did not make, with the bytes the
    # check read: copied aside before they are replaced (they may hold a private key, so
    # never in a repr or a log).
    backups: tuple[tuple[Path, bytes], ...] = field(default=(), repr=False)
    # Such files we may not read (root's, from `sudo openssl`): replaced all the same.
    unreadable: tuple[Path, ...] = ()
    # From an ACME CA (Let's Encrypt) instead of self-signed: `names` are then the public
    # ones, and `usable` says whether the current file may go on being served if the CA
    # cannot be reached (else a self-signed certificate stands in).
    order: Optional[AcmeOrder] = None

    @property
    def action(self) -> str:
        if self.order is not None:
            return self.order.action
        if self.regenerate and (self.backups or self.unreadable):
            return (
                "back up the old certificate files (not made by jupyter-bootstrap), then "
                "generate a new key and self-signed certificate"
            )
        if self.regenerate:
            return "generate a new key and self-signed certificate"
        if self.keep is not None:
            return f"put the key and the certificate into one file, {self.certfile.name}"
        return "fix owner and modes"

    @property
    def restart_reason(self) -> Optional[str]:
        # Jupyter reads the certificate file for every new connection: a new one written in
        # one rename is served at once, and running kernels live on.
        return None


class AcmeOrder(NamedTuple):
    directory: str
    ports: ChallengePorts
    usable: bool  # the current certificate still serves (unexpired, with its key)
    fallback_names: tuple[str, ...]  # what a stand-in self-signed certificate covers

    @property
    def action(self) -> str:
        host = urlsplit(self.directory).hostname or self.directory
        ca = "Let's Encrypt" if self.directory == DEFAULT_DIRECTORY_URL else f"the CA at {host}"
        return (
            f"get a certificate from {ca} (it checks this machine on port "
            f"{self.ports.tls_alpn}, else {self.ports.http})"
        )


def acme_directory(ctx: Context) -> str:
    """The saved choice, else the environment's (tests point it at Pebble), else Let's
    Encrypt."""
    return directory_url(ctx.settings.acme_directory)


def acme_state_dir(ctx: Context) -> Path:
    return ctx.paths.state_dir / "acme"


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


def made_by_us(cert_pem: bytes, ordered: Optional[str] = None) -> bool:
    """Whether this is a certificate certs.self_signed made (self-issued, with our
    organisation in the subject), or the one we last got from a CA (its fingerprint is
    `ordered`). Anything else at our paths is the user's, kept on change."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    from jupyter_bootstrap import trust_anchor

    try:
        certificate = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        return False
    if ordered is not None and trust_anchor.fingerprint_sha256(certificate) == ordered:
        return True
    if certificate.subject != certificate.issuer:
        return False
    organisations = certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return any(attribute.value == OUR_ORGANIZATION for attribute in organisations)


def _contents(path: Path) -> tuple[bool, Optional[bytes]]:
    """(whether something is at `path`, its bytes or None when we may not read them)."""
    try:
        return True, path.read_bytes()
    except FileNotFoundError:
        return False, None
    except OSError:
        return path.exists(), None


def foreign_files(
    certfile: Path, keyfile: Path, ordered: Optional[str] = None
) -> tuple[tuple[tuple[Path, bytes], ...], tuple[Path, ...]]:
    """(files to back up with their bytes, files we cannot read) before the pair at our
    paths is replaced: both files when the certificate there is not one of ours (a pair,
    or one PEM holding key and certificate, made by hand). A key without a certificate is
    left out: it is most likely ours, from a pair whose certificate was deleted."""
    cert_there, cert_pem = _contents(certfile)
    if not cert_there or (cert_pem is not None and made_by_us(cert_pem, ordered)):
        return (), ()
    backups: list[tuple[Path, bytes]] = []
    unreadable: list[Path] = []
    for path, (there, data) in ((certfile, (cert_there, cert_pem)), (keyfile, _contents(keyfile))):
        if data is not None:
            backups.append((path, data))
        elif there:
            unreadable.append(path)
    return tuple(backups), tuple(unreadable)


def _has_key(pem: Optional[bytes]) -> bool:
    return pem is not None and b"PRIVATE KEY-----" in pem


def decide(
    info: Optional[certificate_facts.CertificateInfo],
    problem: str,
    names: list[str],
    ownership: str,
) -> tuple[Optional[bool], str]:
    """From what the pair is (`info`, None when unusable, and `problem` saying why), the
    names it must cover and what is wrong with its layout, owners and modes: (None, "")
    when all is well, else (whether to regenerate, why)."""
    if info is None or problem:
        return True, problem
    uncovered = info.uncovered(names)
    if uncovered:
        return True, "certificate does not cover " + ", ".join(uncovered)
    if ownership:
        return False, ownership
    return None, ""


class NoPublicName(UserError):
    """No name a CA could check. `silent`: the instance metadata service was asked and did
    not answer (not: answered that there is no public address, nor: turned off)."""

    def __init__(
        self, message: str, hint: str, silent: bool, left_out: list[acme_names.LeftOut]
    ) -> None:
        super().__init__(message, hint=hint)
        self.silent = silent
        self.left_out = left_out


def ca_names(ctx: Context) -> tuple[list[str], list[acme_names.LeftOut]]:
    """The names a CA can check from the internet: the ones the user gave and the public
    ones from instance metadata. Not one: NoPublicName, saying what would give one."""
    if ctx.settings.access == "tunnel":
        raise UserError(
            "a certificate from Let's Encrypt names the public address, but through an SSH "
            "tunnel the browser opens localhost",
            hint="use --access public with --certificate letsencrypt, or --certificate "
            "self-signed with the tunnel",
        )
    public = ctx.facts.public or public_address.PublicAddress()
    candidates = []
    for raw in (*ctx.settings.hostnames, *public.names):
        try:
            candidates.append(hostnames.parse_hostname(raw))
        except UserError:
            continue  # metadata answered something odd: not a name to order
    names, left_out = acme_names.public_names(candidates)
    if not names:
        found = ", ".join(f"{item.name} ({item.why})" for item in left_out) or "none"
        raise NoPublicName(
            "no name of this machine can get a certificate from Let's Encrypt: it must reach "
            f"a public IP address or a public DNS name (found: {found})",
            hint="give the instance a public IPv4 address (an Elastic IP keeps it across "
            "stop/start), or point a domain of yours at it and add --hostname NAME; or use "
            "--certificate self-signed",
            silent=public_address.metadata_url() is not None and not public.answered,
            left_out=left_out,
        )
    return names, left_out


def _why_order(ctx: Context, leaf: certificate_facts.CertificateInfo, names: list[str]) -> str:
    """Why the certificate from the CA must be (re)ordered now; empty when it need not."""
    if leaf.self_issued:
        return "the certificate is self-signed, not from the CA"
    held = set(leaf.names)
    uncovered = [name for name in names if name not in held]
    if uncovered:
        return "certificate does not cover " + ", ".join(uncovered)
    expires = leaf.not_after
    left = expires - certificate_facts.utc_now()
    life = expires - leaf.not_before
    if ctx.options.force_renew:
        return "renewal asked for (--force)"
    if ctx.options.renew:
        if left < life / 3:
            return f"a third of its life is left (it expires {expires:%Y-%m-%d %H:%M} UTC)"
        return ""
    # (A certificate issued for less than three days, as a test CA may do, is held to the
    # renewal's own third.)
    if left < min(CA_MINIMUM_LEFT, life / 3):
        return f"certificate expires {expires:%Y-%m-%d %H:%M} UTC, within a day"
    return ""


class CertificateStep:
    name = "certificate"

    def check(self, ctx: Context) -> Status[CertificatePlan]:
        if ctx.settings.certfile and ctx.settings.keyfile:
            return self._check_own(ctx, Path(ctx.settings.certfile), Path(ctx.settings.keyfile))
        if ctx.settings.letsencrypt:
            return self._check_from_ca(ctx)
        certfile, separate = ctx.paths.default_certfile, ctx.paths.separate_keyfile
        ctx.facts.certfile = ctx.facts.keyfile = certfile
        names = required_names(ctx)
        ctx.facts.cert_names = names
        cert_pem = _read(certfile)
        # Where the key is: in certfile, or (as made by earlier versions) a file of its own.
        keyfile = certfile if _has_key(cert_pem) or not separate.exists() else separate
        key_pem = cert_pem if keyfile == certfile else _read(separate)
        info, problem = self._inspect(ctx, certfile, keyfile, cert_pem, key_pem)
        wrong = self._ownership_drift(ctx, certfile) if info is not None else ""
        if info is not None and keyfile != certfile:
            wrong = "; ".join(filter(None, [f"the key is in a file of its own, {separate}", wrong]))
        regenerate, reason = decide(info, problem, names, wrong)
        if ctx.options.force_renew and not regenerate:
            regenerate, reason = True, "renewal asked for (--force)"
        if regenerate is None:
            assert info is not None
            return good(f"{certfile}, valid until {info.not_after:%Y-%m-%d}")
        keep = None
        if not regenerate and keyfile != certfile:
            assert cert_pem is not None and key_pem is not None
            keep = (key_pem, cert_pem)
        return drift(reason, self._plan(ctx, regenerate, names, reason, keep))

    @staticmethod
    def _plan(
        ctx: Context,
        regenerate: bool,
        names: list[str],
        reason: str,
        keep: Optional[tuple[bytes, bytes]],
    ) -> CertificatePlan:
        certfile, separate = ctx.paths.default_certfile, ctx.paths.separate_keyfile
        record = renewal_record.load(ctx.paths.state_dir)
        ordered = record.fingerprint if record is not None else None
        backups, unreadable = foreign_files(certfile, separate, ordered) if regenerate else ((), ())
        if backups or unreadable:
            ctx.run.found(
                f"a certificate not made by jupyter-bootstrap at {certfile}: replaced by a "
                "new one, "
                + ("the old files kept as backups" if backups else "which cannot be read")
            )
        return CertificatePlan(
            certfile=certfile,
            regenerate=regenerate,
            names=tuple(names),
            key_type=ctx.settings.key_type,
            reason=reason,
            separate_keyfile=separate if separate.exists() else None,
            keep=keep,
            backups=backups,
            unreadable=unreadable,
        )

    def _inspect(
        self,
        ctx: Context,
        certfile: Path,
        keyfile: Path,
        cert_pem: Optional[bytes],
        key_pem: Optional[bytes],
        soon: Optional[datetime.timedelta] = datetime.timedelta(
            days=certificate_facts.RENEW_BEFORE_DAYS
        ),
    ) -> tuple[Optional[certificate_facts.CertificateInfo], str]:
        if cert_pem is None or key_pem is None:
            missing = certfile if cert_pem is None else keyfile
            return None, f"{missing} is missing or unreadable"
        try:
            info = certificate_facts.inspect(cert_pem, key_pem)
        except certificate_facts.BadCertificate as error:
            if b"-----BEGIN CERTIFICATE-----" in cert_pem and not _has_key(key_pem):
                return None, f"{keyfile} holds no private key"
            where = certfile if keyfile == certfile else f"{certfile} / {keyfile}"
            return None, f"{where}: {error}"
        if not info.key_matches:
            return None, f"the key in {keyfile} does not belong to the certificate in {certfile}"
        now = certificate_facts.utc_now()
        if info.not_after <= now:
            return None, f"certificate expired {info.not_after:%Y-%m-%d}"
        if soon is not None and info.not_after - now < soon:
            return None, f"certificate expires {info.not_after:%Y-%m-%d}"
        ctx.facts.certificate = info
        return info, ""

    def _ownership_drift(self, ctx: Context, certfile: Path) -> str:
        wrong = []
        for path, mode in ((certfile.parent, DIR_MODE), (certfile, FILE_MODE)):
            info = path.stat()
            if info.st_mode & 0o7777 != mode:
                wrong.append(f"{path} has mode {info.st_mode & 0o7777:o}, should be {mode:o}")
            if info.st_uid != ctx.account.uid:
                wrong.append(f"{path} is not owned by {ctx.account.name}")
        return "; ".join(wrong)

    def _check_from_ca(self, ctx: Context) -> Status[CertificatePlan]:
        """A certificate from an ACME CA for the machine's public names, renewed before it
        runs out; while the CA cannot be reached, the current one (or, once that has
        expired, a self-signed stand-in) goes on being served."""
        certfile = ctx.paths.default_certfile
        ctx.facts.certfile = ctx.facts.keyfile = certfile
        fallback_names = required_names(ctx)
        warnings: list[str] = []
        pem = _read(certfile)
        info, problem = self._inspect(ctx, certfile, certfile, pem, pem, soon=None)
        usable = info is not None
        try:
            names, left_out = ca_names(ctx)
        except NoPublicName as error:
            # The metadata service not answering this once (a slow boot, a blip) must not
            # make a working certificate from the CA an error: its names still stand.
            if not error.silent or info is None or info.self_issued:
                raise
            names, left_out = list(info.names), error.left_out
            warnings.append(
                "the instance metadata service did not answer this time: the certificate's "
                "names are kept; if the instance has a new public address, run "
                "`jupyter-bootstrap init` again in a minute"
            )
        ctx.facts.cert_names = names
        # Said when they matter: when a certificate is about to be ordered without them.
        left_out_lines = [
            f"left out of the certificate: {item.name}, {item.why}" for item in left_out
        ]
        record = renewal_record.load(ctx.paths.state_dir)
        if record is not None and not record.ok:
            warnings.append(
                f"the last attempt to get a certificate failed ({record.when}): {record.detail}"
                + ("; a self-signed certificate stands in" if record.fallback else "")
            )
        reason = problem
        if info is not None and not reason:
            reason = _why_order(ctx, info, names)
        order = AcmeOrder(
            directory=acme_directory(ctx),
            ports=ChallengePorts(
                tls_alpn=ctx.settings.acme_tls_alpn_port, http=ctx.settings.acme_http_port
            ),
            usable=usable,
            fallback_names=tuple(fallback_names),
        )
        if reason:
            plan = CertificatePlan(
                certfile=certfile,
                regenerate=True,
                names=tuple(names),
                key_type=ctx.settings.key_type,
                reason=reason,
                order=order,
            )
            return drift(reason, plan, left_out_lines + warnings)
        assert info is not None
        wrong = self._ownership_drift(ctx, certfile)
        if wrong:
            return drift(wrong, self._plan(ctx, False, names, wrong, None), warnings)
        summary = f"{certfile}, from {info.issuer}, valid until {info.not_after:%Y-%m-%d %H:%M} UTC"
        if record is not None and record.ok:
            summary += f"; last renewed {record.when}"
        return good(summary, warnings)

    def _order(self, ctx: Context, plan: CertificatePlan, order: AcmeOrder) -> str:
        """Get the certificate from the CA and put it in place in one rename; on failure,
        keep what serves (or put a self-signed stand-in there) and say why."""
        from jupyter_bootstrap import certs, trust_anchor
        from jupyter_bootstrap.acme_errors import AcmeFailed
        from jupyter_bootstrap.acme_order import order_certificate

        ports = (order.ports.tls_alpn, order.ports.http)
        if not acme_privilege.can_bind(ports, ctx.account.uid):
            return self._order_in_unit(ctx, plan, order)
        key_pem = certs.private_key_pem(ctx.settings.key_type)
        try:
            issued = order_certificate(
                order.directory,
                list(plan.names),
                acme_state_dir(ctx),
                key_pem,
                ports=order.ports,
                ca_bundle=ctx.settings.acme_ca_bundle,
                owner=ctx.account.owner,
            )
        except AcmeFailed as error:
            self._failed(ctx, plan, order, error)
            raise
        atomic_write(plan.certfile, key_pem + issued.chain_pem, FILE_MODE, ctx.account.owner)
        kill_points.reached("certificate:written")
        issuer = trust_anchor.describe(trust_anchor.read_chain(issued.chain_pem)[0]).issuer
        detail = (
            f"{plan.reason}: a certificate from {issuer} for {', '.join(plan.names)}, valid "
            f"until {issued.not_after:%Y-%m-%d %H:%M} UTC (checked by {issued.challenge})"
        )
        leaf = trust_anchor.read_chain(issued.chain_pem)[0]
        record = renewal_record.RenewalRecord(
            renewal_record.now_text(),
            True,
            detail,
            fingerprint=trust_anchor.fingerprint_sha256(leaf),
        )
        renewal_record.save(ctx.paths.state_dir, record, ctx.account.owner)
        return detail

    def _order_in_unit(self, ctx: Context, plan: CertificatePlan, order: AcmeOrder) -> str:
        """The same order, as `cert renew` in a unit that may bind the ports; it keeps
        the record this process then reads."""
        ports = f"{order.ports.tls_alpn} and {order.ports.http}"
        if not systemctl.is_booted():
            raise StepFailed(
                f"the CA's checks come to ports {ports}, which only root may open here, "
                "and without systemd the agent cannot lend itself that right",
                hint="run init where systemd runs, or --certificate self-signed",
            )
        account = ctx.account
        code, output = acme_privilege.renew_in_unit(
            account.name, str(account.gid), account.home, force=True
        )
        record = renewal_record.load(ctx.paths.state_dir)
        if code == 0 and record is not None and record.ok:
            return record.detail
        if record is not None and not record.ok:
            raise StepFailed(record.detail, hint=record.hint)
        raise StepFailed(
            "getting the certificate failed: " + (output.splitlines() or ["no output"])[-1],
            hint="run `jupyter-bootstrap cert renew` to see it again, and read the log",
        )

    def _failed(
        self, ctx: Context, plan: CertificatePlan, order: AcmeOrder, error: AcmeFailed
    ) -> None:
        previous = renewal_record.load(ctx.paths.state_dir)
        fallback = previous is not None and previous.fallback and order.usable
        if not order.usable:
            from jupyter_bootstrap import certs

            # Nothing that serves is left: a self-signed certificate stands in, so that
            # Jupyter keeps answering (with a warning in the browser) until the CA is back.
            key_pem, cert_pem = certs.self_signed(
                list(order.fallback_names), ctx.settings.key_type, certificate_facts.utc_now()
            )
            atomic_write(plan.certfile, key_pem + cert_pem, FILE_MODE, ctx.account.owner)
            fallback = True
        record = renewal_record.RenewalRecord(
            renewal_record.now_text(),
            False,
            error.message,
            fallback,
            error.hint,
            fingerprint=previous.fingerprint if previous is not None else None,
        )
        renewal_record.save(ctx.paths.state_dir, record, ctx.account.owner)

    def _check_own(self, ctx: Context, certfile: Path, keyfile: Path) -> Status[CertificatePlan]:
        """The user's own pair (e.g. from certbot) is validated, never changed."""
        ctx.facts.certfile, ctx.facts.keyfile = certfile, keyfile
        for flag, path in (("--certfile", certfile), ("--keyfile", keyfile)):
            if path.is_dir():
                raise UserError(
                    f"{flag} {path} is a directory, not a file",
                    hint=f"pass the PEM file in it (ls {path}), e.g. certbot's fullchain.pem "
                    "and privkey.pem",
                )
            if not ctx.account.can_read(path):
                raise UserError(
                    f"{path} is missing or {ctx.account.name} cannot read it",
                    hint=f"check the path and its permissions (ls -l {path})",
                )
        info, problem = self._inspect(ctx, certfile, keyfile, _read(certfile), _read(keyfile))
        if info is None:
            raise UserError(
                f"your certificate cannot be used: {problem}",
                hint="pass a matching, unexpired PEM pair with --certfile/--keyfile",
            )
        ctx.facts.cert_names = sorted(info.dns_names | info.ip_addresses)
        return good(f"your own {certfile}, valid until {info.not_after:%Y-%m-%d}")

    def apply(self, ctx: Context, plan: CertificatePlan) -> str:
        owner = ctx.account.owner
        # A forced renewal is this one: the check after it asks only whether all is right.
        ctx.options.force_renew = False
        ensure_dir(plan.certfile.parent, DIR_MODE, owner)
        if plan.order is not None:
            return self._order(ctx, plan, plan.order)
        if not plan.regenerate and plan.keep is None:
            set_mode(plan.certfile, FILE_MODE, owner)
            return "fixed owner and modes of the certificate file"
        # Before anything is replaced: a crash later still leaves the copies.
        kept = [write_backup(path, data, owner) for path, data in plan.backups]
        if plan.keep is not None:
            key_pem, cert_pem = plan.keep
        else:
            from jupyter_bootstrap import certs

            now = certificate_facts.utc_now()
            key_pem, cert_pem = certs.self_signed(list(plan.names), plan.key_type, now)
        # One rename: a server reading it for a new connection gets the old pair or the new.
        atomic_write(plan.certfile, key_pem + cert_pem, FILE_MODE, owner)
        kill_points.reached("certificate:written")
        if plan.separate_keyfile is not None:
            # Its key is in certfile now (or was backed up above, if not ours).
            plan.separate_keyfile.unlink(missing_ok=True)
        if plan.keep is not None:
            return (
                f"the key and the certificate are one file now, {plan.certfile} (the same "
                "certificate: nothing changes for the browser)"
            )
        kind = "RSA 2048" if plan.key_type == "rsa" else "EC P-256"
        summary = f"{plan.reason}: new {kind} certificate for {len(plan.names)} names"
        if kept:
            summary += (
                f"; the old files (not made by jupyter-bootstrap) are kept in "
                f"{plan.certfile.parent} as {', '.join(path.name for path in kept)}"
            )
        if plan.unreadable:
            summary += (
                f"; replaced without a backup, as {ctx.account.name} cannot read them: "
                + ", ".join(str(path) for path in plan.unreadable)
            )
        return summary
