"""Password: an argon2 hash in Jupyter's format is configured. Re-runs never ask again."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from jupyter_bootstrap import jupyter_config, jupyter_hash
from jupyter_bootstrap.engine import Context, Status
from jupyter_bootstrap.jupyter_hash import HashKind

ASK = "ask for a password"

WEAK_WARNING = (
    "the configured password hash is weak (an old salted SHA hash, quick to brute-force); "
    "run `jupyter-bootstrap init --reset-password` to replace it with argon2"
)


def existing_hash(ctx: Context) -> Optional[str]:
    """A hash already configured by hand or by the seed tutorial, so that adopting this tool
    does not change the password people already use."""
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


class PasswordStep:
    name = "password"
    title = "Jupyter password"

    def check(self, ctx: Context) -> Status:
        if ctx.facts.password_set_this_run:
            return Status.good("password set")
        current = ctx.settings.password_hash
        if ctx.options.typed_password_hash:
            return Status.drift("a new password was typed", "store its hash")
        if ctx.options.password_hash and ctx.options.password_hash != current:
            return Status.drift("a new password hash was given", "store it")
        if ctx.options.reset_password:
            return Status.drift("a new password was asked for", ASK)
        if current is None:
            if existing_hash(ctx):
                return Status.drift("a password is already in the Jupyter config", "keep it")
            return Status.drift("no password is set", ASK)
        hash_kind = jupyter_hash.kind(current)
        if hash_kind is HashKind.INVALID:
            return Status.drift("the saved password hash is malformed", ASK)
        if hash_kind is HashKind.LEGACY:
            return Status.good("password set (weak sha1 hash)", [WEAK_WARNING])
        return Status.good("password set (argon2)")

    def apply(self, ctx: Context, found: Status) -> str:
        adopted = None if found.action == ASK else existing_hash(ctx)
        if ctx.options.typed_password_hash:
            new_hash, what = ctx.options.typed_password_hash, "new password set (argon2)"
        elif ctx.options.password_hash:
            new_hash, what = ctx.options.password_hash, "stored the given password hash"
        elif adopted:
            new_hash, what = adopted, "kept the password already in the Jupyter config"
        else:
            new_hash, what = ask_and_hash(ctx), "new password set (argon2)"
        ctx.settings.password_hash = new_hash
        ctx.save_settings()
        ctx.facts.password_set_this_run = True
        return what
