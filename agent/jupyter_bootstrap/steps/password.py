"""Password: an argon2 hash in Jupyter's format is configured. Re-runs never ask again."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import NamedTuple, Optional

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


class PasswordPlan(NamedTuple):
    source: Source
    # The hash to store; None for ASK (the preflight asks, and the next check stores it).
    new_hash: Optional[str]
    # ASK because the hash found in a hand-made config is weak: said before the prompt.
    replaces_weak: bool = False

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
    "run `jupyter-bootstrap password` (or `init --reset-password`) to replace it with argon2"
)
FOUND_WEAK_WARNING = (
    "the password in your old Jupyter config has a weak hash (salted SHA, quick to "
    "brute-force) and is kept only because there is no terminal to ask for a new one; "
    "run `jupyter-bootstrap password` to replace it with argon2"
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
    """The plaintext lives only in this call: read, checked, hashed, dropped. The same
    password as the saved argon2 hash keeps that hash, so a re-run with --password-stdin
    changes nothing (and restarts nothing)."""
    password = ctx.read_password()
    current = ctx.settings.password_hash
    if (
        current is not None
        and jupyter_hash.kind(current) is HashKind.ARGON2
        and jupyter_hash.verify(current, password)
    ):
        return current
    return jupyter_hash.hash_password(password)


def decide(
    current: Optional[str],
    current_kind: Optional[HashKind],
    typed: Optional[str],
    given: Optional[str],
    reset: bool,
    adoptable: Optional[str],
    from_stdin: bool,
    interactive: bool,
) -> tuple[str, Optional[PasswordPlan]]:
    """From the saved hash and its kind (judged once, by the caller), what this run was told
    (a typed password's hash, a given hash, --reset-password, --password-stdin), a hash
    found in a hand-made Jupyter config and whether a terminal can be asked: the summary
    and plan.

    What the user gives always wins over a hash found on disk. A found sha1 hash is taken
    over only when nobody can be asked (the check warns about it on every run)."""
    if typed is not None:
        if typed == current:
            return "password set", None
        return "a new password was typed", PasswordPlan(Source.TYPED, typed)
    if given is not None and given != current:
        return "a new password hash was given", PasswordPlan(Source.GIVEN, given)
    if given is None and (reset or from_stdin):
        return "a new password was asked for", PasswordPlan(Source.ASK, None)
    if current is None:
        if adoptable is None:
            return "no password is set", PasswordPlan(Source.ASK, None)
        if jupyter_hash.kind(adoptable) is HashKind.LEGACY and interactive:
            return "the password in the old Jupyter config has a weak sha1 hash", PasswordPlan(
                Source.ASK, None, replaces_weak=True
            )
        return "a password is already in the Jupyter config", PasswordPlan(
            Source.ADOPTED, adoptable
        )
    if current_kind is HashKind.INVALID:
        return "the saved password hash is malformed", PasswordPlan(Source.ASK, None)
    return "password set", None


class PasswordStep:
    name = "password"

    def check(self, ctx: Context) -> Status[PasswordPlan]:
        current = ctx.settings.password_hash
        # Judged once, and remembered, so the next run's check recalls the verdict instead
        # of loading argon2 (status and dry runs only recall).
        current_kind = None if current is None else jupyter_hash.kind(current, keep=True)
        options = ctx.options
        adoptable = existing_hash(ctx) if current is None else None
        summary, plan = decide(
            current, current_kind, ctx.run.typed_password_hash, options.password_hash,
            options.reset_password, adoptable, options.password_stdin, options.interactive,
        )  # fmt: skip
        if plan is not None:
            if adoptable is not None:
                ctx.run.found(
                    "a Jupyter password set by hand"
                    + (": replaced by the one you give" if plan.source is not Source.ADOPTED
                       else ": kept")
                )  # fmt: skip
            weak = (
                plan.source is Source.ADOPTED
                and plan.new_hash is not None
                and jupyter_hash.kind(plan.new_hash) is HashKind.LEGACY
            )
            return drift(summary, plan, [FOUND_WEAK_WARNING] if weak else [])
        if current_kind is HashKind.LEGACY:
            return good("password set (weak sha1 hash)", [WEAK_WARNING])
        if ctx.run.typed_password_hash is not None:
            return good(summary)
        return good("password set (argon2)")

    def ask_first(self, ctx: Context, plan: PasswordPlan) -> None:
        if plan.source is not Source.ASK:
            return
        if plan.replaces_weak:
            ctx.console.info(
                "The password in your old Jupyter config is stored with a weak hash: choose "
                "a new one (the same password is fine; it is stored with argon2)."
            )
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
