"""Command line: parse and validate flags, build the context, hand it to the command's flow
in `commands/`, and turn errors into messages and exit codes (the only place that does)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar, cast

import click

from jupyter_bootstrap import __version__
from jupyter_bootstrap.errors import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    BootstrapError,
    UserError,
)
from jupyter_bootstrap.steps import STEP_NAMES

if TYPE_CHECKING:
    # Types only: the modules themselves are imported inside the commands that need them,
    # so `--help` and `--version` stay fast (tests/unit/test_startup_imports.py watches it).
    from jupyter_bootstrap.engine import Context, Options

Decorated = TypeVar("Decorated", bound=Callable[..., Any])

HELP_MAX_WIDTH = 100
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": HELP_MAX_WIDTH}


def _help_width() -> int:
    """The width click would wrap help at (the terminal's, at most HELP_MAX_WIDTH, less two),
    worked out without click's own way there: that imports shutil, a tenth of what
    `--help` costs beyond importing click."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0 and sys.__stdout__ is not None:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (ValueError, OSError):
            columns = 0
    return max(min(columns or 80, HELP_MAX_WIDTH) - 2, 50)


def _stdin_is_tty() -> bool:
    return sys.stdin.isatty()


def _absolute(value: Optional[str], flag: str) -> Optional[str]:
    """An absolute path, None when the flag was not given; an empty value is a mistake (an
    unset shell variable), not the same as leaving the flag out."""
    from pathlib import Path

    if value is None:
        return None
    if not value.strip():
        raise UserError(f"{flag} is empty", hint=f"give it a path, or leave {flag} out")
    return str(Path(value).expanduser().resolve())


class BootstrapGroup(click.Group):
    """The only place errors become messages and exit codes. Overriding `main` (not a
    wrapper function) means click's test runner goes through it too."""

    debug = False  # set by --debug, before or after the command name

    def make_context(
        self,
        info_name: Optional[str],
        args: list[str],
        parent: Optional[click.Context] = None,
        **extra: Any,
    ) -> click.Context:
        # Every subcommand's context inherits the width from this one.
        extra.setdefault("terminal_width", _help_width())
        return super().make_context(info_name, args, parent, **extra)

    def main(  # type: ignore[override]
        self,
        args: Optional[list[str]] = None,
        prog_name: Optional[str] = None,
        complete_var: Optional[str] = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> None:
        argv = list(args) if args is not None else sys.argv[1:]
        self.debug = False
        try:
            code = super().main(
                args=argv,
                prog_name=prog_name or "jupyter-bootstrap",
                complete_var=complete_var,
                standalone_mode=False,
                **extra,
            )
        except (click.exceptions.Abort, KeyboardInterrupt):
            click.echo("\ninterrupted: nothing more was changed", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except click.UsageError as error:
            if error.ctx is not None and not argv:
                click.echo(error.ctx.get_help())
            else:
                where = error.ctx.command_path if error.ctx else "jupyter-bootstrap"
                _report(
                    error.format_message(), f"{where} --help lists the options", None, self.debug
                )
            sys.exit(EXIT_USAGE)
        except click.ClickException as error:
            _report(error.format_message(), None, None, self.debug)
            sys.exit(error.exit_code)
        except BootstrapError as error:
            details = getattr(getattr(error, "cause", error), "details", None)
            _report(error.message, error.hint, details, self.debug)
            sys.exit(error.exit_code)
        except OSError as error:
            # What no step foresaw (a full disk, a permission somewhere unexpected): one
            # error line with the path and the system's words, the traceback in the log.
            import errno

            from jupyter_bootstrap.errors import EXIT_STEP_FAILED
            from jupyter_bootstrap.run import log, log_path

            if log_path() is not None:  # else logging's last resort would print it here
                log.error("unexpected error", exc_info=True)
            names = [str(name) for name in (error.filename, error.filename2) if name is not None]
            where = " -> ".join(names)
            text = error.strerror or str(error) or type(error).__name__
            message = text[:1].lower() + text[1:] + (f": {where}" if where else "")
            which = where or "the file it names"
            hints = {
                errno.ENOSPC: "free some disk space (`df -h` shows which file system is full), "
                "then run the command again",
                errno.EDQUOT: "free some space within your disk quota, then run the command again",
                errno.EACCES: f"check the owner and mode of {which} (`ls -ld {which}`): it "
                "should belong to you; then run the command again",
                errno.EROFS: "that file system is mounted read-only; remount it read-write or "
                "choose another location, then run the command again",
            }
            hints[errno.EPERM] = hints[errno.EACCES]
            hint = hints.get(
                error.errno or 0,
                "fix the cause named above, then run the command again (--debug shows where "
                "it happened)",
            )
            _report(message, hint, None, self.debug)
            sys.exit(EXIT_STEP_FAILED)
        sys.exit(code if isinstance(code, int) else 0)


def _set_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        cast(BootstrapGroup, ctx.find_root().command).debug = True


def _debug_option(func: Decorated) -> Decorated:
    """--debug is accepted before and after the command name alike."""
    return click.option(
        "--debug",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_set_debug,
        help="Show the traceback of an error (the log always has the whole story).",
    )(func)


@click.group(cls=BootstrapGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "-V", "--version", prog_name="jupyter-bootstrap")
@_debug_option
def cli() -> None:
    """Set up a password-protected HTTPS Jupyter server on this machine.

    \b
    Examples:
      jupyter-bootstrap init              first run: asks for a password, then sets up all
      jupyter-bootstrap init              again later: repairs whatever drifted
      jupyter-bootstrap status            what is set up and what drifted (exit 3 on drift)
      jupyter-bootstrap info              how to reach it from your computer, trust the cert
      jupyter-bootstrap password          change the Jupyter password
      jupyter-bootstrap kernels sync      a kernel for every conda environment, now
      jupyter-bootstrap logs -f           follow the Jupyter service's log
      jupyter-bootstrap restart           restart Jupyter (running kernels stop)
      jupyter-bootstrap uninstall         remove the service and settings, keep notebooks
    """


def _settings_options(func: Decorated) -> Decorated:
    """Flags that are saved in settings.json and reused by later runs."""
    options = [
        click.option("--prefix", metavar="DIR", help="Conda prefix (default ~/anaconda3)."),
        click.option(
            "--distribution",
            type=click.Choice(["anaconda", "miniconda", "miniforge"]),
            help="Which conda to install when none is found (default anaconda).",
        ),
        click.option(
            "--app",
            type=click.Choice(["notebook", "lab"]),
            help="Serve Jupyter Notebook (default) or JupyterLab.",
        ),
        click.option("--port", type=click.IntRange(1, 65535), help="HTTPS port (default 8888)."),
        click.option(
            "--access",
            type=click.Choice(["public", "tunnel"]),
            help="public: listen on all addresses (default); tunnel: 127.0.0.1 only, reach "
            "it through an SSH tunnel.",
        ),
        click.option(
            "--hostname",
            "hostnames",
            multiple=True,
            metavar="NAME",
            help="Name or IP the browser will use (repeatable); goes into the certificate.",
        ),
        click.option(
            "--notebook-dir", metavar="DIR", help="Notebook folder (default ~/Notebooks)."
        ),
        click.option(
            "--certificate",
            type=click.Choice(["self-signed", "letsencrypt"]),
            help="Who makes the certificate: self-signed (default; the browser warns until "
            "you trust it) or letsencrypt (trusted everywhere; the instance's public IP or "
            "your domain; the CA checks it on port 443 or 80).",
        ),
        click.option(
            "--acme-directory",
            metavar="URL",
            help="Another ACME CA than Let's Encrypt (its directory URL).",
        ),
        click.option(
            "--acme-ca-bundle",
            metavar="FILE",
            help="CA certificates (PEM) to trust the ACME CA's HTTPS with (a proxy that "
            "inspects TLS, a private CA).",
        ),
        click.option(
            "--acme-tls-alpn-port",
            type=click.IntRange(1, 65535),
            metavar="PORT",
            help="Where this machine answers the CA's tls-alpn-01 check (default 443; another "
            "port only behind a port forward).",
        ),
        click.option(
            "--acme-http-port",
            type=click.IntRange(1, 65535),
            metavar="PORT",
            help="Where it answers the http-01 check (default 80).",
        ),
        click.option("--certfile", metavar="FILE", help="Your own certificate (e.g. certbot's)."),
        click.option("--keyfile", metavar="FILE", help="The key of --certfile."),
        click.option(
            "--key-type", type=click.Choice(["ec", "rsa"]), help="Key for the self-signed cert."
        ),
        click.option("--service-name", metavar="NAME", help="systemd unit name (default jupyter)."),
        click.option(
            "--no-service/--service",
            "no_service",
            default=None,
            help="Only write files; never touch systemd (containers, WSL).",
        ),
        click.option(
            "--env-kernels/--no-env-kernels",
            "env_kernels",
            default=None,
            help="A kernel for every conda environment with ipykernel (default on); new "
            "environments get theirs by themselves.",
        ),
        click.option(
            "--env-dir",
            "env_dirs",
            multiple=True,
            metavar="DIR",
            help="Also make kernels for the environments in DIR (a folder of environments, or "
            "one environment); repeatable, replaces the saved list.",
        ),
        click.option(
            "--idle-kernel-timeout",
            metavar="DURATION",
            help="Shut down kernels and terminals idle this long, e.g. 2h (the default) or "
            "90m; busy kernels never; `off` to keep them.",
        ),
        click.option(
            "--stop-when-idle",
            metavar="DURATION",
            help="Power the machine off after this long (e.g. 3h, at least 10m) with no "
            "Jupyter activity and nobody logged in; on EC2 that stops the instance. `off` "
            "(the default) turns it off.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _run_options(func: Decorated) -> Decorated:
    """Flags for this run only."""
    user = click.option(
        "--user",
        metavar="NAME",
        help="When running as root (cloud-init): the user to set Jupyter up for.",
    )
    return user(_run_flags(func))


def _run_flags(func: Decorated) -> Decorated:
    """The flags for this run only that `cloud-init` passes on to the first boot's init."""
    options = [
        click.option("--force-os", is_flag=True, help="Try on an unsupported OS anyway."),
        click.option(
            "--force",
            is_flag=True,
            help="Take over the service even though another login user's init wrote it.",
        ),
        click.option(
            "--replace-running",
            is_flag=True,
            help="Stop a Jupyter you started by hand that holds the port, then start ours.",
        ),
        click.option(
            "--skip",
            multiple=True,
            type=click.Choice(STEP_NAMES),
            help="Leave this step out (repeatable).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _conda_options(func: Decorated) -> Decorated:
    """Where conda comes from when it has to be installed."""
    options = [
        click.option(
            "--installer-url",
            metavar="URL",
            help="Install conda from this installer (a mirror, another version); "
            "needs --installer-sha256.",
        ),
        click.option(
            "--installer-sha256", metavar="HEX", help="The sha256 the --installer-url file has."
        ),
        click.option(
            "--keep-installer",
            is_flag=True,
            help="Keep the downloaded installer in ~/.cache/jupyter-bootstrap/downloads.",
        ),
        click.option(
            "--accept-anaconda-tos",
            is_flag=True,
            help="Accept Anaconda's terms of service, needed to install Jupyter from its "
            "channels without a prompt (Miniconda). Saved.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


class InstallerEpilogCommand(click.Command):
    """`init`, whose help ends with where conda installers come from. That table lives in
    conda_installers, which nothing else needs while flags are parsed, so it is imported
    only when the help is printed, not whenever the command line is built."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if self.epilog is None:
            self.epilog = _installer_epilog()
        super().format_epilog(ctx, formatter)


def _installer_epilog() -> str:
    from jupyter_bootstrap.conda_publishers import PUBLISHERS

    lines = ["\b", "Where conda installers come from (set these for a mirror):"]
    for publisher in PUBLISHERS.values():
        lines.append(f"  {publisher.env}")
        lines.append(f"      default {publisher.default_url}")
    lines.append("Each installer's sha256 is pinned, or read from there (index page or .sha256).")
    return "\n".join(lines)


def _conda_overrides(values: dict[str, Any]) -> dict[str, Any]:
    """--installer-url/--installer-sha256 only together and well-formed: an installer is
    never run without a hash to check it against."""
    overrides: dict[str, Any] = {
        "accept_anaconda_tos": True if values.get("accept_anaconda_tos") else None
    }
    url, sha256 = values.get("installer_url"), values.get("installer_sha256")
    if url is None and sha256 is None:
        return overrides
    from urllib.parse import urlsplit

    from jupyter_bootstrap import conda_installers

    if not url:
        raise UserError("--installer-sha256 needs --installer-url", hint="pass both, or neither")
    if not sha256:
        raise UserError(
            "--installer-url needs --installer-sha256: an installer is only run when its hash "
            "is known",
            hint="pass the sha256 the publisher lists for that file: --installer-sha256 HEX",
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UserError(f"--installer-url {url!r} is not an http(s) URL")
    try:
        digest = conda_installers.normalise_sha256(sha256)
    except ValueError:
        raise UserError(
            "--installer-sha256 is not a SHA-256 (64 hex digits)",
            hint="copy it from the publisher, e.g. the SHA256 column of "
            "https://repo.anaconda.com/archive/",
        ) from None
    overrides["installer_url"] = url
    overrides["installer_sha256"] = digest
    if not values.get("distribution"):
        name = conda_installers.cache_name(url, digest)
        overrides["distribution"] = conda_installers.distribution_of(name)
    return overrides


def _overrides(values: dict[str, Any]) -> dict[str, Any]:
    """Settings changes from the given flags, validated; absent flags are not overrides."""
    from urllib.parse import urlsplit

    from jupyter_bootstrap.hostnames import parse_hostname
    from jupyter_bootstrap.settings import valid_unit_name

    overrides: dict[str, Any] = {
        key: values.get(key)
        for key in ("distribution", "app", "port", "access", "key_type", "service_name")
    }
    overrides["no_service"] = values.get("no_service")
    overrides["prefix"] = _absolute(values.get("prefix"), "--prefix")
    overrides["notebook_dir"] = _absolute(values.get("notebook_dir"), "--notebook-dir")
    if values.get("hostnames"):
        names: list[str] = []
        for raw in values["hostnames"]:
            name = parse_hostname(raw)
            if name not in names:
                names.append(name)
        overrides["hostnames"] = names
    certfile, keyfile = values.get("certfile"), values.get("keyfile")
    if (certfile is None) != (keyfile is None):
        raise UserError(
            "--certfile and --keyfile go together",
            hint="pass both: the certificate and its private key",
        )
    overrides["certfile"] = _absolute(certfile, "--certfile")
    overrides["keyfile"] = _absolute(keyfile, "--keyfile")
    kind = values.get("certificate")
    if kind is not None and certfile is not None:
        raise UserError(
            f"--certificate {kind} and --certfile exclude each other",
            hint="--certfile/--keyfile serve your own certificate; --certificate chooses who "
            "makes one for you",
        )
    overrides["certificate"] = kind
    directory = values.get("acme_directory")
    if directory is not None:
        parts = urlsplit(directory)
        if parts.scheme != "https" or not parts.netloc:
            raise UserError(
                f"--acme-directory {directory!r} is not an https URL",
                hint="give the CA's directory URL, e.g. "
                "https://acme-v02.api.letsencrypt.org/directory",
            )
    overrides["acme_directory"] = directory
    overrides["acme_ca_bundle"] = _absolute(values.get("acme_ca_bundle"), "--acme-ca-bundle")
    overrides["acme_tls_alpn_port"] = values.get("acme_tls_alpn_port")
    overrides["acme_http_port"] = values.get("acme_http_port")
    service_name = values.get("service_name")
    if service_name is not None and not valid_unit_name(service_name):
        raise UserError(
            f"--service-name {service_name!r} is not a valid systemd unit name",
            hint="use letters, digits, '-', '_' or '.', e.g. jupyter",
        )
    overrides.update(_conda_overrides(values))
    overrides.update(_day_two_overrides(values))
    return overrides


def _day_two_overrides(values: dict[str, Any]) -> dict[str, Any]:
    """Kernels for environments, idle kernels culled, stopping when idle: validated here,
    so a bad duration is refused before anything changes."""
    from pathlib import Path

    from jupyter_bootstrap import durations, stop_when_idle

    overrides: dict[str, Any] = {"env_kernels": values.get("env_kernels")}
    if values.get("env_dirs"):
        folders = [_absolute(raw, "--env-dir") for raw in values["env_dirs"]]
        for folder in folders:
            if folder is not None and not Path(folder).is_dir():
                raise UserError(
                    f"--env-dir {folder} is not a folder",
                    hint="name a folder of environments (like ~/miniforge3/envs), or one "
                    "environment",
                )
        overrides["env_dirs"] = list(dict.fromkeys(folders))
    timeout = values.get("idle_kernel_timeout")
    if timeout is not None:
        if durations.is_off(timeout) or timeout.strip() == "0":
            overrides["idle_kernel_timeout"] = 0
        else:
            try:
                overrides["idle_kernel_timeout"] = durations.parse(timeout)
            except durations.NotADuration as error:
                raise UserError(
                    f"--idle-kernel-timeout {timeout}: {error}",
                    hint="e.g. --idle-kernel-timeout 2h, or `off` to keep idle kernels",
                ) from None
    after = values.get("stop_when_idle")
    if after is not None:
        overrides["stop_when_idle"] = stop_when_idle.parse_flag(after)
    return overrides


def _build_context(
    user: Optional[str],
    overrides: Optional[dict[str, Any]] = None,
    options: Optional[Options] = None,
    log: bool = True,
) -> Context:
    """The context of a command; `log` False for one a timer runs every few minutes, which
    would fill the log with the same lines (its output goes to the journal)."""
    from jupyter_bootstrap import account, settings
    from jupyter_bootstrap.console import Console
    from jupyter_bootstrap.engine import Context, Options
    from jupyter_bootstrap.facts import Facts
    from jupyter_bootstrap.password_input import password_reader
    from jupyter_bootstrap.paths import Paths
    from jupyter_bootstrap.run import setup_log

    options = options or Options()
    options.interactive = _stdin_is_tty()
    who = account.resolve(user)
    paths = Paths(who.home)
    if log:
        setup_log(paths.log_file, who.owner)
    saved = settings.load(paths.settings_file)
    return Context(
        account=who,
        paths=paths,
        settings=saved.with_overrides(overrides or {}),
        options=options,
        console=Console(),
        facts=Facts(),
        read_password=password_reader(options.password_stdin, _stdin_is_tty),
    )


@cli.command(cls=InstallerEpilogCommand)
@_settings_options
@_conda_options
@_run_options
@click.option(
    "--password-stdin", is_flag=True, help="Read the new password from one line of stdin."
)
@click.option("--password-hash", metavar="HASH", help="Use a Jupyter password hash made elsewhere.")
@click.option("--reset-password", is_flag=True, help="Ask for a new password even if one is set.")
@click.option("--dry-run", is_flag=True, help="Only check: say what would change.")
@_debug_option
def init(**values: Any) -> None:
    """Set everything up, or repair what drifted. Safe to run again at any time.

    Converges every step: host, conda, shell, jupyter, password, certificate, config,
    service, kernels, autostop, renewal, health. Every question (the password, Anaconda's
    terms) is asked before anything is changed.

    \b
    Examples:
      jupyter-bootstrap init
      jupyter-bootstrap init --hostname ec2-3-8-1-2.eu-west-2.compute.amazonaws.com
      jupyter-bootstrap init --access tunnel       # only through an SSH tunnel
      echo "$PW" | jupyter-bootstrap init --password-stdin
      jupyter-bootstrap init --stop-when-idle 3h   # power off after 3 idle hours
      jupyter-bootstrap init --dry-run             # what would change
    """
    from jupyter_bootstrap import jupyter_hash
    from jupyter_bootstrap.commands.init import init as run_init
    from jupyter_bootstrap.engine import Options

    given_hash = values.get("password_hash")
    if given_hash is not None and jupyter_hash.kind(given_hash) is jupyter_hash.HashKind.INVALID:
        raise UserError(
            "--password-hash is not a valid Jupyter password hash",
            hint='make one with: python -c "from jupyter_server.auth import passwd; '
            'print(passwd())"',
        )
    if values["password_stdin"] and given_hash:
        raise UserError("--password-stdin and --password-hash exclude each other")
    options = Options(
        dry_run=values["dry_run"],
        reset_password=values["reset_password"],
        password_stdin=values["password_stdin"],
        password_hash=given_hash,
        force_os=values["force_os"],
        skip=frozenset(values["skip"]),
        keep_installer=values["keep_installer"],
        force=values["force"],
        replace_running=values["replace_running"],
    )
    ctx = _build_context(values["user"], _overrides(values), options)
    if values.get("certificate") is not None:
        # An explicit choice of who makes the certificate ends serving one's own.
        ctx.settings.certfile = ctx.settings.keyfile = None
    run_init(ctx)


@cli.command()
@click.option("--user", metavar="NAME", help="When running as root: whose setup to check.")
@click.option("--skip", multiple=True, type=click.Choice(STEP_NAMES), help="Leave a step out.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object instead, same exit codes: ok, exit_code, url, drift, "
    "steps[{name, state, summary, action}], warnings, service{name, enabled, active, "
    "main_pid, active_since, uptime_seconds, ...}. Schema: docs/status-json.md.",
)
@click.option(
    "--timings",
    is_flag=True,
    help="Say how long each check took, and which was the slowest (the log always has it).",
)
@_debug_option
def status(user: Optional[str], skip: tuple[str, ...], as_json: bool, timings: bool) -> None:
    """Check everything, change nothing. Exit 0 when all is well, 3 when something drifted.
    Shows whether the service is enabled and running, for how long, and the URL.

    \b
    Examples:
      jupyter-bootstrap status
      jupyter-bootstrap status || jupyter-bootstrap init
      jupyter-bootstrap status --json | python3 -m json.tool
      jupyter-bootstrap status --timings   # which check is slow
    """
    from jupyter_bootstrap.commands.status import status as run_status
    from jupyter_bootstrap.engine import Options

    options = Options(skip=frozenset(skip), timings=timings)
    code = run_status(_build_context(user, options=options), as_json)
    if code != EXIT_OK:
        sys.exit(code)


@cli.command()
@click.option("--user", metavar="NAME", help="When running as root: whose setup to describe.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object instead (also on error). Schema: docs/info-json.md.",
)
@_debug_option
def info(user: Optional[str], as_json: bool) -> None:
    """How to reach Jupyter from your computer: the address, the certificate's fingerprint
    and expiry, the security group rule (or the SSH tunnel), and how to make your browser
    trust the certificate. Changes nothing.

    \b
    Examples:
      jupyter-bootstrap info
      jupyter-bootstrap info --json | python3 -m json.tool
    """
    from jupyter_bootstrap.commands.info import info as show_info
    from jupyter_bootstrap.commands.info import json_errors

    with json_errors(as_json):
        show_info(_build_context(user), as_json)


@cli.group()
@_debug_option
def cert() -> None:
    """The certificate the server presents: export it for a browser to trust, or print its
    fingerprint.

    \b
    Examples:
      jupyter-bootstrap cert export -o ~/jupyter.crt
      jupyter-bootstrap cert export --format der -o ~/jupyter.cer
      jupyter-bootstrap cert fingerprint
      jupyter-bootstrap cert renew
    """


@cert.command("export")
@click.option("--user", metavar="NAME", help="When running as root: whose certificate.")
@click.option(
    "--format",
    "form",
    type=click.Choice(["pem", "der"]),
    default="pem",
    show_default=True,
    help="PEM (text) or DER (binary; Windows opens .cer/.crt files of either).",
)
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    help="Write to FILE (a folder: jupyter.crt in it) instead of printing PEM on stdout.",
)
@_debug_option
def cert_export(user: Optional[str], form: str, output: Optional[str]) -> None:
    """Write the certificate a browser must trust to open Jupyter without a warning.

    For the self-signed certificate that is the certificate itself (it may sign, so it can
    be imported as a root). `jupyter-bootstrap info` says how to copy it to your computer
    and trust it there.
    """
    from jupyter_bootstrap.commands.cert import export

    export(_build_context(user), form, output)


@cert.command("renew")
@click.option("--user", metavar="NAME", help="When running as root: whose certificate.")
@click.option("--force", is_flag=True, help="Renew now, however long the certificate has left.")
@_debug_option
def cert_renew(user: Optional[str], force: bool) -> None:
    """Renew the certificate when it is due, without restarting Jupyter.

    A certificate from Let's Encrypt is renewed once a third of its life is left; a
    self-signed one a month before it expires; either as soon as the machine's public names
    changed (a new IP after stop/start). Otherwise nothing happens. The renewal timer runs
    this twice a day, and once at boot before Jupyter starts. Running kernels live on.

    \b
    Examples:
      jupyter-bootstrap cert renew
      jupyter-bootstrap cert renew --force
    """
    from jupyter_bootstrap.commands.cert import renew
    from jupyter_bootstrap.engine import Options

    renew(_build_context(user, options=Options(renew=True, force_renew=force)))


@cert.command("fingerprint")
@click.option("--user", metavar="NAME", help="When running as root: whose certificate.")
@_debug_option
def cert_fingerprint(user: Optional[str]) -> None:
    """Print the certificate's SHA-256 fingerprint alone (AA:BB:...), as browsers show it."""
    from jupyter_bootstrap.commands.cert import fingerprint

    fingerprint(_build_context(user))


@cli.command()
@click.option("--user", metavar="NAME", help="When running as root: whose password to change.")
@click.option(
    "--password-stdin", is_flag=True, help="Read the new password from one line of stdin."
)
@_debug_option
def password(user: Optional[str], password_stdin: bool) -> None:
    """Change the Jupyter password (and restart the server so it takes effect).

    Converges the password, config, service and health steps. conda, Jupyter and the
    certificate must already be right (`init` repairs them): otherwise it stops before it
    asks anything or changes anything.

    \b
    Examples:
      jupyter-bootstrap password
      echo "$PW" | jupyter-bootstrap password --password-stdin
    """
    from jupyter_bootstrap.commands.password import password as run_password
    from jupyter_bootstrap.engine import Options

    options = Options(reset_password=True, password_stdin=password_stdin)
    run_password(_build_context(user, options=options))


@cli.command()
@click.option("--user", metavar="NAME", help="When running as root: whose server to restart.")
@_debug_option
def restart(user: Optional[str]) -> None:
    """Restart the Jupyter service and wait until it answers over HTTPS again.

    Running kernels stop (their notebooks stay). `init` restarts by itself when the
    certificate, config or password changed: this is for everything else. Converges the
    service and health steps; the rest must already be right (`init` repairs it).

    \b
    Examples:
      jupyter-bootstrap restart
    """
    from jupyter_bootstrap.commands.restart import restart as run_restart

    run_restart(_build_context(user))


@cli.command()
@click.option("--user", metavar="NAME", help="When running as root: whose server's log.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines until Ctrl-C.")
@click.option(
    "-n",
    "--lines",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="How many of the last lines to show.",
)
@_debug_option
def logs(user: Optional[str], follow: bool, lines: int) -> None:
    """Show the Jupyter service's log (journalctl of its unit).

    \b
    Examples:
      jupyter-bootstrap logs
      jupyter-bootstrap logs -n 200
      jupyter-bootstrap logs -f          # follow; Ctrl-C to stop
    """
    from jupyter_bootstrap.commands.logs import logs as show_logs

    show_logs(_build_context(user), lines, follow)


@cli.group()
@_debug_option
def kernels() -> None:
    """The kernels of your environments: each conda environment (or venv) with ipykernel
    is a kernel in Jupyter, "Python (NAME)".

    \b
    Examples:
      jupyter-bootstrap kernels sync
    """


@kernels.command("sync")
@click.option("--user", metavar="NAME", help="When running as root: whose kernels.")
@click.option(
    "--wait",
    is_flag=True,
    help="Also wait (up to 15 minutes) for environments still being made to get ipykernel; "
    "the watcher of new environments runs it so.",
)
@_debug_option
def kernels_sync(user: Optional[str], wait: bool) -> None:
    """Make a kernel for every environment with ipykernel, remove ours whose environment is
    gone, and say how to add ipykernel where it is missing. Kernelspecs you made yourself
    are never touched, and Jupyter is not restarted: it lists the new kernels at once.

    init installs a watcher that runs this by itself whenever an environment is made or
    removed; run it by hand after adding ipykernel to an existing environment.
    """
    from jupyter_bootstrap.commands.kernels import sync

    sync(_build_context(user), wait)


@cli.command("idle-check", hidden=True)
@click.option("--user", metavar="NAME", help="When running as root: whose setup.")
@_debug_option
def idle_check(user: Optional[str]) -> None:
    """For the stop-when-idle timer: exit 0 when the machine has been idle long enough to
    power off, 1 when not (and says why). It never powers off itself."""
    from jupyter_bootstrap.commands.idle import idle_check as check

    sys.exit(check(_build_context(user, log=False)))


@cli.command()
@click.option("--user", metavar="NAME", help="When running as root: whose setup to remove.")
@click.option("--yes", "assume_yes", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--purge",
    is_flag=True,
    help="Also delete the certificate, the conda install, downloads and the log "
    "(never your notebooks).",
)
@_debug_option
def uninstall(user: Optional[str], assume_yes: bool, purge: bool) -> None:
    """Stop and remove the Jupyter service and undo the configuration.

    Removes the service, the jupyter-bootstrap block in the Jupyter config (your own
    lines stay) and the settings. Keeps your notebooks, the certificate and conda, unless
    --purge (which still never deletes notebooks). Lists what it will do and asks first.

    \b
    Examples:
      jupyter-bootstrap uninstall
      jupyter-bootstrap uninstall --yes --purge
    """
    from jupyter_bootstrap.commands.uninstall import uninstall as run_uninstall

    run_uninstall(_build_context(user), assume_yes, purge)


def _option_names(*decorators: Callable[[Decorated], Decorated]) -> frozenset[str]:
    """The names of the options these decorators add (read off a function they decorate)."""

    def probe() -> None:
        """Only carries the options."""

    for decorate in decorators:
        probe = decorate(probe)  # type: ignore[arg-type]
    return frozenset(str(p.name) for p in getattr(probe, "__click_params__", []))


# init's flags that `cloud-init` accepts and passes on, as given, to the first boot's init.
INIT_FLAGS = _option_names(_settings_options, _conda_options, _run_flags)
# Paths on the instance: a ~ or a relative path would be resolved on this machine, and
# whether they exist cannot be known here.
INSTANCE_PATHS = {
    "prefix": "--prefix",
    "notebook_dir": "--notebook-dir",
    "certfile": "--certfile",
    "keyfile": "--keyfile",
    "acme_ca_bundle": "--acme-ca-bundle",
    "env_dirs": "--env-dir",
}


def _given_init_flags(ctx: click.Context, values: dict[str, Any]) -> list[str]:
    """init's flags as they were given on this command line, as argv for init."""
    argv: list[str] = []
    for param in ctx.command.params:
        name = param.name
        if not isinstance(param, click.Option) or name not in INIT_FLAGS:
            continue
        if ctx.get_parameter_source(name) is not click.core.ParameterSource.COMMANDLINE:
            continue
        value = values[name]
        flag = max(param.opts, key=len)
        if param.is_flag and param.secondary_opts:  # --no-service/--service
            argv.append(flag if value else max(param.secondary_opts, key=len))
        elif param.is_flag:
            if value:
                argv.append(flag)
        elif param.multiple:
            for item in value:
                argv += [flag, str(item)]
        else:
            argv += [flag, str(value)]
    return argv


@cli.command("cloud-init")
@click.option(
    "--user",
    default="ubuntu",
    show_default=True,
    metavar="NAME",
    help="The instance's login user, whom Jupyter is set up for.",
)
@click.option(
    "--format",
    "form",
    type=click.Choice(["cloud-config", "script"]),
    default="cloud-config",
    show_default=True,
    help="A #cloud-config document, or the same as a bash script (EC2 takes either).",
)
@click.option(
    "--password-hash",
    metavar="HASH",
    help="The password's argon2 hash (from jupyter_server.auth.passwd()). Without it the "
    "password is asked here, or read with --password-stdin, and hashed here.",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from one line of stdin; only its hash goes into the output.",
)
@click.option(
    "--install-url",
    metavar="URL",
    help="Where the instance downloads install.sh (a mirror, a test server).",
)
@click.option(
    "--source",
    metavar="REQ",
    help="The agent's pip requirement, for install.sh: a wheel URL, name==version from a "
    "mirror (default: the release install.sh names).",
)
@_settings_options
@_conda_options
@_run_flags
@_debug_option
def cloud_init(**values: Any) -> None:
    """Print user data that sets Jupyter up on an instance's first boot, unattended.

    Paste the output into the EC2 launch wizard (Advanced details > User data) or a launch
    template: at first boot, cloud-init installs jupyter-bootstrap for the login user and
    runs `jupyter-bootstrap init` for them with the flags given here. The password is
    hashed here (argon2); only the hash goes into the output. Nothing on this machine
    changes.

    \b
    Examples:
      jupyter-bootstrap cloud-init > user-data.txt
      jupyter-bootstrap cloud-init --distribution miniforge --port 8888 > user-data.txt
      echo "$PW" | jupyter-bootstrap cloud-init --password-stdin --format script
    """
    from jupyter_bootstrap import user_data
    from jupyter_bootstrap.commands.cloud_init import Request
    from jupyter_bootstrap.commands.cloud_init import cloud_init as print_user_data
    from jupyter_bootstrap.console import Console

    if values["password_stdin"] and values["password_hash"] is not None:
        raise UserError("--password-stdin and --password-hash exclude each other")
    user_data.check_user(values["user"])
    for name, flag in INSTANCE_PATHS.items():
        given = values.get(name)
        for path in [given] if isinstance(given, str) else given or ():
            user_data.check_absolute(flag, path)
    # init's own checks of the values' form, here rather than at first boot; not of folders
    # that must exist, which only the instance has.
    _overrides({**values, "env_dirs": ()})
    install_url = values["install_url"] or user_data.released_install_url()
    if install_url is None:
        raise UserError(
            "--install-url is needed: this copy of jupyter-bootstrap does not name where "
            "install.sh is published",
            hint="pass the address you download install.sh from: --install-url "
            "https://.../install.sh",
        )
    warning = user_data.check_url("--install-url", install_url)
    if warning:
        Console().warn(warning)
    if values["source"] is not None:
        user_data.check_text("--source", values["source"])
    request = Request(
        user=values["user"],
        form=values["form"],
        install_url=install_url,
        source=values["source"] or None,
        init_args=tuple(_given_init_flags(click.get_current_context(), values)),
        password_hash=values["password_hash"],
        password_stdin=values["password_stdin"],
    )
    print_user_data(request, _stdin_is_tty)


def _report(message: str, hint: Optional[str], details: Optional[str], debug: bool) -> None:
    from jupyter_bootstrap.console import Console
    from jupyter_bootstrap.run import log_path

    if debug:
        import traceback

        traceback.print_exc()
    log = log_path()
    Console().error(message, hint, details, str(log) if log else None)


def main() -> None:
    cli.main()
