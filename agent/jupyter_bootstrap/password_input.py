"""Reading a new password: hidden prompt with confirmation on a terminal, or one line of
stdin. The plaintext is returned to the caller that hashes it and is kept nowhere else."""

from __future__ import annotations

import sys
from typing import Callable

import click

from jupyter_bootstrap.errors import UserError
from jupyter_bootstrap.jupyter_hash import refusal

TRIES = 3


def password_reader(
    from_stdin: bool, stdin_is_tty: Callable[[], bool], stdout_is_output: bool = False
) -> Callable[[], str]:
    """`stdout_is_output`: stdout carries the command's result (a document the user may
    redirect to a file), so every word of the prompt goes to stderr."""

    def read() -> str:
        if from_stdin:
            return _from_stdin()
        if not stdin_is_tty():
            raise UserError(
                "no terminal to ask for the Jupyter password",
                hint="pipe it in with --password-stdin, or pass --password-hash HASH",
            )
        return _prompt(stdout_is_output)

    return read


def _from_stdin() -> str:
    line = sys.stdin.readline()
    # Only the line ending goes: anything else on the line is the password as given.
    password = line.rstrip("\r\n")
    if not password:
        raise UserError(
            "--password-stdin: no password on standard input",
            hint='echo "$PASSWORD" | jupyter-bootstrap init --password-stdin',
        )
    reason = refusal(password)
    if reason is not None:
        raise UserError(
            f"the password on standard input is refused: {reason}",
            hint="pipe in another one; only the line ending is removed from it, so "
            "anything else on the line is part of the password",
        )
    return password


def _prompt(intro_to_stderr: bool) -> str:
    intro = "Choose the password for Jupyter's login page (typing is hidden)."
    click.echo(intro, err=intro_to_stderr)
    for _ in range(TRIES):
        password = click.prompt("  New Jupyter password", hide_input=True, err=True)
        reason = refusal(password)
        if reason is not None:
            click.echo(f"  {reason[0].upper()}{reason[1:]}.", err=True)
            continue
        again = click.prompt("  Same password again", hide_input=True, err=True)
        if again != password:
            click.echo("  The two entries differ. Let's try again.", err=True)
            continue
        return password
    raise UserError(
        f"no password set after {TRIES} tries: nothing was changed",
        hint="run `jupyter-bootstrap init` again when ready",
    )
