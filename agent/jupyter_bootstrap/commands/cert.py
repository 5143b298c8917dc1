"""`jupyter-bootstrap cert export | fingerprint | renew`: the certificate the server presents,
for a browser to trust (export) or for a person to compare (fingerprint); and its renewal,
by the timer, at boot or by hand (renew)."""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple, Optional

import click
from cryptography import x509

from jupyter_bootstrap import access_guide, acme_privilege, trust_anchor
from jupyter_bootstrap.commands import run_lock
from jupyter_bootstrap.commands.guarded import converging
from jupyter_bootstrap.engine import Context, converge
from jupyter_bootstrap.errors import UserError
from jupyter_bootstrap.files import atomic_write, read_bytes_or_none
from jupyter_bootstrap.steps.certificate import CertificateStep

EXPORT_MODE = 0o644  # a certificate is public; the user copies it off with pscp/scp


def require_setup(ctx: Context) -> None:
    """Commands that describe a setup refuse when there is none, rather than describe the
    defaults as if they were real."""
    if not ctx.paths.settings_file.exists():
        raise UserError(
            f"Jupyter is not set up for {ctx.account.name} yet "
            f"({ctx.paths.settings_file} does not exist)",
            hint="run `jupyter-bootstrap init` first",
        )


class ServedCertificate(NamedTuple):
    path: Path
    chain: list[x509.Certificate]
    ours: bool  # made by jupyter-bootstrap (self-signed), not brought with --certfile

    @property
    def leaf(self) -> x509.Certificate:
        return self.chain[0]

    @property
    def details(self) -> trust_anchor.CertificateDetails:
        return trust_anchor.describe(self.leaf)


def served_certificate(ctx: Context) -> ServedCertificate:
    """The certificate file the server is configured with, parsed; a user error (with what
    to run) when it is missing or broken."""
    path = ctx.certificate_files[0]
    data = read_bytes_or_none(path)
    if data is None:
        raise UserError(
            f"there is no certificate at {path}",
            hint="run `jupyter-bootstrap init`: it makes a new one"
            if not ctx.settings.own_certificate
            else "put your certificate back there, or run `jupyter-bootstrap init` with "
            "--certfile/--keyfile naming where it is now",
        )
    try:
        chain = trust_anchor.read_chain(data)
    except trust_anchor.NotACertificate as error:
        raise UserError(
            f"{path} is not a certificate: {error}",
            hint="run `jupyter-bootstrap init` to repair it",
        ) from None
    return ServedCertificate(path, chain, ours=not ctx.settings.own_certificate)


def _write(output: str, data: bytes, ctx: Context) -> Path:
    """Write to the file the user named (into a folder: the file name info uses); a path
    that cannot be written is a user error naming the folder and a place that works."""
    path = Path(output).expanduser()
    try:
        if path.is_dir():  # may itself be refused: inside the try
            path = path / access_guide.EXPORT_FILE
        atomic_write(path, data, EXPORT_MODE, ctx.account.owner)
    except OSError as error:
        reason = {
            errno.ENOENT: f"the folder {path.parent} does not exist",
            errno.EACCES: f"{ctx.account.name} may not write in {path.parent}",
            errno.EPERM: f"{ctx.account.name} may not write in {path.parent}",
            errno.EROFS: f"{path.parent} is on a read-only file system",
            errno.ENOTDIR: f"{path.parent} is not a folder",
        }.get(error.errno or 0, error.strerror or str(error))
        raise UserError(
            f"cannot write the certificate to {path}: {reason}",
            hint=f"choose a file in a folder you can write, e.g. -o ~/{access_guide.EXPORT_FILE}",
        ) from None
    return path


def export(ctx: Context, form: str, output: Optional[str]) -> None:
    require_setup(ctx)
    served = served_certificate(ctx)
    certificate, is_root = trust_anchor.anchor(served.chain)
    data = trust_anchor.encode(certificate, form)
    if output is None or output == "-":
        if form == "der" and sys.stdout.isatty():
            raise UserError(
                "DER is binary and would garble the terminal",
                hint=f"write it to a file: -o ~/{access_guide.EXPORT_FILE} --format der",
            )
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    path = _write(output, data, ctx)
    details = trust_anchor.describe(certificate)
    click.echo(f"Wrote {path} ({form.upper()}), SHA-256 fingerprint:")
    click.echo(f"  {details.fingerprint_sha256}")
    if not is_root:
        ctx.console.warn(
            f"{served.path} was issued by {details.issuer} and holds no root certificate: "
            "this is the server's own certificate. A browser that already trusts that issuer "
            "needs nothing imported."
        )
        return
    click.echo(
        "Copy it to your computer and trust it there: `jupyter-bootstrap info` shows how, "
        "with this instance's names filled in."
    )


def fingerprint(ctx: Context) -> None:
    require_setup(ctx)
    click.echo(served_certificate(ctx).details.fingerprint_sha256)


def renew(ctx: Context) -> None:
    """The certificate step alone: a certificate from the CA once a third of its life is
    left (or now, with --force), a self-signed one within a month of its expiry, either when
    the machine's names changed. Never a restart: the server reads the file for every new
    connection. Run by the renewal timer and at boot, and by hand."""
    require_setup(ctx)
    with _lock(ctx):
        converge(ctx, [CertificateStep()], apply=True, command="cert renew")


@contextmanager
def _lock(ctx: Context) -> Iterator[None]:
    """The run lock, unless the run that started this process holds it (init lends the
    CA's checks to a unit that may bind their ports; the lock stays with init)."""
    parent = os.environ.get(acme_privilege.LOCK_HOLDER_ENV, "")
    holder = run_lock.holder(ctx.paths.state_dir)
    if parent.isdigit() and holder is not None and holder.pid == int(parent):
        yield
        return
    with converging(ctx, "cert renew"):
        yield
