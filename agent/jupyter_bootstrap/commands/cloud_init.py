"""`jupyter-bootstrap cloud-init`: print the user data that sets up Jupyter on an
instance's first boot, with nobody logged in (user_data.py says what it does there).

It runs on the operator's machine (often the instance already set up by hand) and changes
nothing there. The password is hashed here, with the same argon2 parameters `init` uses,
and only the hash goes into the document."""

from __future__ import annotations

import sys
from typing import Callable, NamedTuple, Optional

import click

from jupyter_bootstrap import __version__, jupyter_hash, user_data
from jupyter_bootstrap.console import Console
from jupyter_bootstrap.errors import UserError
from jupyter_bootstrap.jupyter_hash import HashKind
from jupyter_bootstrap.password_input import password_reader


class Request(NamedTuple):
    """What the operator asked for: `init_args` are init's own flags, as they will be
    passed on (everything after `init --user NAME --password-hash HASH`)."""

    user: str
    form: str
    install_url: str
    source: Optional[str]
    init_args: tuple[str, ...]
    password_hash: Optional[str]
    password_stdin: bool


def cloud_init(request: Request, stdin_is_tty: Callable[[], bool]) -> None:
    console = Console()
    hashed = _password_hash(request, stdin_is_tty)
    agent_args = ("init", "--user", request.user, "--password-hash", hashed, *request.init_args)
    first_boot = user_data.FirstBoot(request.user, request.install_url, request.source, agent_args)
    document = user_data.render(first_boot, request.form, __version__)
    size = len(document.encode())
    if size > user_data.EC2_USER_DATA_LIMIT:
        raise UserError(
            f"the user data is {size} bytes; EC2 takes at most {user_data.EC2_USER_DATA_LIMIT}",
            hint="leave out flags that repeat the defaults, then run this again",
        )
    click.echo(document, nl=False)
    if sys.stdout.isatty():
        console.warn(
            "this is the whole user data: save it to a file (add > user-data.txt) or copy "
            "all of it into the launch wizard's Advanced details > User data"
        )


def _password_hash(request: Request, stdin_is_tty: Callable[[], bool]) -> str:
    """The argon2 hash: given, or made here from a password read from stdin or asked
    twice on the terminal. The plaintext lives only inside this call."""
    if request.password_hash is not None:
        kind = jupyter_hash.kind(request.password_hash)
        if kind is HashKind.ARGON2:
            return request.password_hash
        if kind is HashKind.LEGACY:
            raise UserError(
                "--password-hash is an old salted SHA hash, quick to brute-force from the "
                "user data",
                hint="give the password instead (typed, or --password-stdin): it is hashed "
                "here with argon2",
            )
        raise UserError(
            "--password-hash is not a valid Jupyter password hash",
            hint="give the password instead (typed, or --password-stdin), or a hash made by "
            "jupyter_server.auth.passwd()",
        )
    read = password_reader(request.password_stdin, stdin_is_tty, stdout_is_output=True)
    return jupyter_hash.hash_password(read())
