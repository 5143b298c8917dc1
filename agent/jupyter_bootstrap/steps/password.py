"""Password: an argon2 hash in Jupyter's format is configured. Re-runs never ask again."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from jupyter_bootstrap import jupyter_config, jupyter_hash
from jupyter_bootstrap.engine import Context, Status, drift, good
from jupyter_bootstrap.jupyter_hash import HashKind


class Source(enum.Enum):
    """Where the hash to store comes from."""

    TYPED = "typed"
    GIVEN = "given"
    ADOPTED = "adopted"
    ASK = "ask"


DONE = {
    Source.TYPED: "new password set (argon2)",
    Source.GIVEN: "stored the given password hash",
    Source.ADOPTED: "kept the password already in the Jupyter config",
    Source.ASK: "new password set (argon2)",
}


@dataclass(frozen=True)
class PasswordPlan:
    source: Source
    # The hash to store; None for ASK (the preflight asks, and the next check stores it).
    new_hash: Optional[str]

    @property
    def action(self) -> str:
        return {
            Source.TYPED: "store its hash",
            Source.GIVEN: "store it",
            Source.ADOPTED: "keep it",
            Source.ASK: "ask for a password",
        }[self.source]

    @property
    def restart_reason(self) -> Optional[str]:
        # The hash reaches the server through the config file, whose step asks for that.
        return None


WEAK_WARNING = (
    "the configured password hash is weak (an old salted SHA hash, quick to brute-force); "
    "run `jupyter-bootstrap init --reset-password` to replace it with argon2"
)


def existing_hash(ctx: Context) -> Optional[str]:
    """A hash already configured by hand (e.g. classic Notebook's `NotebookApp.password`),
    so that adopting this tool does not change the password people already use."""
    candidates: list[str] = []
    for path in (ctx.paths.server_config_json, ctx.paths.notebook_config_json):
        try:
            data = jupyter_config.load_json(path)
        except (ValueError, OSError):
            data = None
        candidates += jupyter_config.json_hashes(data or {})
    for path in (ctx.paths.server_config, ctx.paths.notebook_config):
        candidates += jupyter_config.assigned_hashes(_read(path))
    for candidate in candidates:
        if jupyter_hash.kind(candidate) is not HashKind.INVALID:
            return candidate
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def ask_and_hash(ctx: Context) -> str:
    """The plaintext lives only in this call: read, hashed, verified, dropped."""
    return jupyter_hash.hash_password(ctx.read_password())


def decide(
    current: Optional[str],
    typed: Optional[str],
    given: Optional[str],
    reset: bool,
    adoptable: Optional[str],
) -> tuple[str, Optional[PasswordPlan]]:
    """From the saved hash, what this run was told (a typed password's hash, a given hash,
    --reset-password) and a hash found in a hand-made Jupyter config: the summary and plan."""
    if typed is not None:
        if typed == current:
            return "password set", None
        return "a new password was typed", PasswordPlan(Source.TYPED, typed)
    if given is not None and given != current:
        return "a new password hash was given", PasswordPlan(Source.GIVEN, given)
    if reset and given is None:
        return "a new password was asked for", PasswordPlan(Source.ASK, None)
    if current is None:
        if adoptable is not None:
            return "a password is already in the Jupyter config", PasswordPlan(
                Source.ADOPTED, adoptable
            )
        return "no password is set", PasswordPlan(Source.ASK, None)
    if jupyter_hash.kind(current) is HashKind.INVALID:
        return "the saved password hash is malformed", PasswordPlan(Source.ASK, None)
    return "password set", None


class PasswordStep:
    name = "password"

    def check(self, ctx: Context) -> Status[PasswordPlan]:
        current = ctx.settings.password_hash
        options = ctx.options
        adoptable = existing_hash(ctx) if current is None else None
        summary, plan = decide(
            current, ctx.run.typed_password_hash, options.password_hash,
            options.reset_password, adoptable,
        )  # fmt: skip
        if plan is not None:
            return drift(summary, plan)
        if jupyter_hash.kind(current or "") is HashKind.LEGACY:
            return good("password set (weak sha1 hash)", [WEAK_WARNING])
        if ctx.run.typed_password_hash is not None:
            return good(summary)
        return good("password set (argon2)")

    def ask_first(self, ctx: Context, plan: PasswordPlan) -> None:
        if plan.source is Source.ASK:
            ctx.run.typed_password_hash = ask_and_hash(ctx)

    def apply(self, ctx: Context, plan: PasswordPlan) -> str:
        new_hash = plan.new_hash
        if new_hash is None:
            # Every converging command asks in its preflight; this is the fallback for a
            # caller that did not, and still keeps the plaintext in this call only.
            new_hash = ctx.run.typed_password_hash = ask_and_hash(ctx)
        ctx.settings.password_hash = new_hash
        ctx.save_settings()
        return DONE[plan.source]
