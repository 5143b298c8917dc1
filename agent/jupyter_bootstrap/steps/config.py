"""Jupyter config: our managed block in ~/.jupyter/jupyter_server_config.py (or the classic
jupyter_notebook_config.py), no JSON sibling silently overriding it, and no classic Notebook
settings from an old hand-made setup competing with it."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any, NamedTuple, Optional

from jupyter_bootstrap import jupyter_config, kill_points, managed_block
from jupyter_bootstrap.engine import Context, Status, drift, good
from jupyter_bootstrap.errors import StepFailed, UserError
from jupyter_bootstrap.files import (
    atomic_write,
    ensure_dir,
    mode_of,
    read_bytes_or_none,
    set_mode,
    write_backup,
)

CONFIG_MODE = 0o600  # it holds the password hash
CONFIG_CHANGED = "Jupyter config changed"


class JsonRewrite(NamedTuple):
    """Keys of the JSON sibling that would override ours, moved out into a backup."""

    path: Path
    original: bytes
    kept: str
    moved: int


class LegacyRewrite(NamedTuple):
    """Lines of a hand-made classic Notebook config that set what our server config sets,
    moved out into a backup; the user's other lines stay."""

    path: Path
    original: bytes
    kept: str
    moved: tuple[str, ...]


class ConfigPlan(NamedTuple):
    path: Path
    # The whole new file when its bytes change; None when only its mode is wrong.
    text: Optional[str]
    # What the file held before, when lines outside our block change: kept as a backup.
    backup: Optional[str]
    fix_mode: bool
    json: Optional[JsonRewrite]
    create_root: Optional[Path]
    # The password or certificate is not there yet (a check before those steps ran).
    waiting: bool = False
    legacy: Optional[LegacyRewrite] = None

    @property
    def action(self) -> str:
        if self.waiting:
            return "write the config"
        actions = []
        if self.create_root is not None:
            actions.append(f"create {self.create_root}")
        if self.text is not None:
            actions.append("rewrite the managed block")
        elif self.fix_mode:
            actions.append(f"set its mode to {CONFIG_MODE:o}")
        if self.json is not None:
            actions.append(f"move the overriding keys out of {self.json.path.name}")
        if self.legacy is not None:
            actions.append(f"move the old NotebookApp lines out of {self.legacy.path.name}")
        return ", ".join(actions)

    @property
    def restart_reason(self) -> Optional[str]:
        # A mode or a new folder is nothing Jupyter reads at start: no restart for those.
        # The classic Notebook config is read at start too (Notebook 7 still loads it).
        if self.text is not None or self.json is not None or self.legacy is not None:
            return CONFIG_CHANGED
        return None


def _refuse_syntax_error(path: Path, text: str) -> None:
    """Jupyter skips a config file that does not parse and starts on its defaults: plain
    HTTP with a token instead of TLS and our password. The error can only be in the user's
    lines (ours are rendered), and those are theirs to fix."""
    try:
        # No real file name: for some errors Python reads the line it shows from the file
        # on disk, which is not the text parsed here.
        ast.parse(text, filename="<config>")
    except SyntaxError as error:
        line = (error.text or "").strip()
        raise UserError(
            f"{path} has a Python syntax error ({error.msg}) in your own lines: {line}",
            hint="fix or remove that line (outside the jupyter-bootstrap block), then run "
            "init again; Jupyter would ignore the whole file",
        ) from None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except (PermissionError, IsADirectoryError, UnicodeDecodeError) as error:
        raise UserError(
            f"cannot read the existing Jupyter config {path} ({error.__class__.__name__})",
            hint=f"check its owner and mode (ls -l {path}); it should be yours and readable",
        ) from None


def _json(path: Path) -> Optional[dict[str, Any]]:
    try:
        return jupyter_config.load_json(path)
    except (ValueError, OSError) as error:
        raise UserError(
            f"{path} is not valid JSON ({error}); Jupyter would refuse to start",
            hint=f"fix it, or move it away (mv {path} {path}.broken) and run again",
        ) from None


def _json_rewrite(kind: str, path: Path) -> tuple[list[str], Optional[JsonRewrite]]:
    data = _json(path)
    conflicts = jupyter_config.conflicting_keys(kind, data) if data else []
    if not data or not conflicts:
        return [], None
    original = read_bytes_or_none(path) or b""
    kept = json.dumps(jupyter_config.without_keys(data, conflicts), indent=2) + "\n"
    names = ", ".join(f"{s}.{k}" for s, k in conflicts)
    return [f"{path.name} overrides {names}"], JsonRewrite(path, original, kept, len(conflicts))


def _read_legacy(path: Path) -> Optional[bytes]:
    """The classic Notebook config's bytes; None when absent or unreadable (Jupyter, running
    as the same user, cannot read it either, so it competes with nothing)."""
    try:
        return path.read_bytes()
    except OSError:
        return None


def _api_token(ctx: Context, existing: str) -> str:
    """The token stop-when-idle's check reads Jupyter's activity with (/api/status needs a
    login, and only the password's hash is kept): the one already in our block, else a new
    random one, which apply then writes. None at all while stopping when idle is off, so
    there is no second way in that nobody uses."""
    if not ctx.settings.stop_when_idle or ctx.settings.no_service:
        return ""
    kept = jupyter_config.block_token(existing)
    if kept:
        return kept
    import secrets  # only for a new token: a converged check keeps the one it has

    return secrets.token_urlsafe(32)


def decide_legacy(kind: str, path: Path, original: Optional[bytes]) -> Optional[LegacyRewrite]:
    """With a Jupyter Server config (kind "server"), the lines of the classic Notebook config
    at `path` (as `original` holds it) that Notebook 7 would move over ours, and the file
    without them; None when nothing competes."""
    if kind != "server" or not original:
        return None
    try:
        source = original.decode("utf-8")
    except UnicodeDecodeError:
        return None
    cleanup = jupyter_config.without_legacy_notebook_settings(source)
    if cleanup is None:
        return None
    return LegacyRewrite(path, original, cleanup.kept, cleanup.moved)


def decide(
    path: Path, existing: str, updated: str, mode: Optional[int]
) -> tuple[list[str], Optional[str], Optional[str], bool]:
    """From the file as it is (`existing`, `mode`; "" and None when absent) and as it should
    be (`updated`): the problems, the new text (None: the bytes are right), the backup
    (None: no line outside our block changes) and whether only the mode needs fixing."""
    if not existing:
        return [f"{path} does not exist"], updated, None, False
    if managed_block.split(existing).block is None:
        problem = f"{path} has no jupyter-bootstrap block"
    elif updated != existing:
        problem = f"the managed block in {path} differs from the settings"
    elif mode != CONFIG_MODE:
        return [f"{path} has mode {mode or 0:o}, not {CONFIG_MODE:o}"], None, None, True
    else:
        return [], None, None, False
    backup = existing if managed_block.outside_changes(existing, updated) else None
    return [problem], updated, backup, False


class ConfigStep:
    name = "config"

    def _paths(self, ctx: Context) -> tuple[str, Path, Path]:
        jupyter = ctx.facts.jupyter
        kind = jupyter.config_kind if jupyter else "server"
        if kind == "notebook":
            return kind, ctx.paths.notebook_config, ctx.paths.notebook_config_json
        return kind, ctx.paths.server_config, ctx.paths.server_config_json

    def _values(self, ctx: Context, existing: str) -> Optional[jupyter_config.ConfigValues]:
        if not (ctx.settings.password_hash and ctx.facts.certfile and ctx.facts.keyfile):
            return None
        return jupyter_config.ConfigValues(
            ip=ctx.settings.bind_ip,
            port=ctx.settings.port,
            root_dir=str(ctx.notebook_dir),
            certfile=str(ctx.facts.certfile),
            # Empty when the key is in certfile (ours): one file to read, one to replace.
            keyfile="" if ctx.facts.keyfile == ctx.facts.certfile else str(ctx.facts.keyfile),
            password_hash=ctx.settings.password_hash,
            idle_timeout=ctx.settings.idle_kernel_timeout,
            api_token=_api_token(ctx, existing),
        )

    def check(self, ctx: Context) -> Status[ConfigPlan]:
        kind, config_path, json_path = self._paths(ctx)
        ctx.facts.config_file = config_path
        root = ctx.notebook_dir
        blocker = next((p for p in (root, *root.parents) if p.exists()), root)
        if blocker.exists() and not blocker.is_dir():
            where = "is a file" if blocker == root else f"is under {blocker}, which is a file"
            raise UserError(
                f"the notebook folder {root} {where}",
                hint="move the file away or choose another folder with --notebook-dir",
            )
        # Read everything first: an unreadable file is bad input even before we have values.
        existing = _read(config_path)
        # The user's own lines are checked now, before the password and certificate steps
        # (which the values below wait for) have written anything.
        _refuse_syntax_error(config_path, managed_block.remove(existing))
        json_problems, json_rewrite = _json_rewrite(kind, json_path)
        legacy_path = ctx.paths.notebook_config
        legacy = decide_legacy(kind, legacy_path, _read_legacy(legacy_path))
        if legacy is not None:
            ctx.run.found(
                f"{legacy_path} sets NotebookApp {', '.join(legacy.moved)}: those lines move "
                "into a backup, your other lines stay"
            )
        values = self._values(ctx, existing)
        if values is None:
            waiting = ConfigPlan(config_path, None, None, False, None, None, waiting=True)
            return drift("waiting for the password and certificate", waiting)
        updated = jupyter_config.render_file(existing, kind, values)
        _refuse_syntax_error(config_path, updated)
        mode = mode_of(config_path) if existing else None
        problems, text, backup, fix_mode = decide(config_path, existing, updated, mode)
        problems += json_problems
        if legacy is not None:
            problems.append(f"{legacy_path.name} also sets {', '.join(legacy.moved)}")
        create_root = None if root.is_dir() else root
        if create_root is not None:
            problems.append(f"notebook folder {root} does not exist")
        if not problems:
            return good(f"{config_path}, serving {root}")
        return drift(
            "; ".join(problems),
            ConfigPlan(
                config_path, text, backup, fix_mode, json_rewrite, create_root, legacy=legacy
            ),
        )

    def apply(self, ctx: Context, plan: ConfigPlan) -> str:
        if plan.waiting:
            raise StepFailed("the password and certificate steps must run before the config")
        owner = ctx.account.owner
        notes = []
        if plan.create_root is not None:
            ensure_dir(plan.create_root, 0o755, owner)
            notes.append(f"created {plan.create_root}")
        ensure_dir(plan.path.parent, 0o700, owner)
        if plan.backup is not None:
            backup = write_backup(plan.path, plan.backup.encode(), owner)
            notes.append(f"backup {backup.name}")
        if plan.text is not None:
            atomic_write(plan.path, plan.text, CONFIG_MODE, owner)
            # Before the JSON sibling and the classic config are cleaned up.
            kill_points.reached("config:written")
            notes.insert(0, f"wrote {plan.path}")
        elif plan.fix_mode:
            set_mode(plan.path, CONFIG_MODE, owner)
            notes.insert(0, f"set the mode of {plan.path} back to {CONFIG_MODE:o}")
        if plan.json is not None:
            rewrite = plan.json
            backup = write_backup(rewrite.path, rewrite.original, owner)
            atomic_write(rewrite.path, rewrite.kept, CONFIG_MODE, owner)
            notes.append(
                f"moved {rewrite.moved} overriding keys out of {rewrite.path.name} "
                f"into {backup.name}"
            )
        if plan.legacy is not None:
            notes.append(self._move_legacy(ctx, plan.legacy))
        return "; ".join(notes)

    def _move_legacy(self, ctx: Context, legacy: LegacyRewrite) -> str:
        owner = ctx.account.owner
        backup = write_backup(legacy.path, legacy.original, owner)
        # 0600 like our own config: a hand-made Jupyter config may hold other secrets.
        atomic_write(legacy.path, legacy.kept, CONFIG_MODE, owner)
        ctx.run.note(
            f"{', '.join(legacy.moved)} from an old setup were moved out of {legacy.path} "
            f"(Jupyter read them on top of ours) into {backup}; your other lines stayed"
        )
        return (
            f"moved {len(legacy.moved)} old NotebookApp lines out of {legacy.path.name} "
            f"into {backup.name}"
        )
