"""Jupyter config: our managed block in ~/.jupyter/jupyter_server_config.py (or the classic
jupyter_notebook_config.py), and no JSON sibling silently overriding it."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any, Optional

from jupyter_bootstrap import jupyter_config, managed_block
from jupyter_bootstrap.engine import Context, Status
from jupyter_bootstrap.errors import UserError
from jupyter_bootstrap.files import atomic_write, ensure_dir, mode_of, write_backup

CONFIG_MODE = 0o600  # it holds the password hash


def _refuse_syntax_error(path: Path, text: str) -> None:
    """Jupyter skips a config file that does not parse and starts on its defaults: plain
    HTTP with a token instead of TLS and our password. The error can only be in the user's
    lines (ours are rendered), and those are theirs to fix."""
    try:
        ast.parse(text, filename=str(path))
    except SyntaxError as error:
        line = (error.text or "").strip()
        raise UserError(
            f"{path} has a Python syntax error ({error.msg}) in your own lines: {line}",
            hint="fix or remove that line (outside the jupyter-bootstrap block), then run "
            "init again; Jupyter would ignore the whole file",
        ) from None


class ConfigStep:
    name = "config"
    title = "Jupyter configuration"

    def _paths(self, ctx: Context) -> tuple[str, Path, Path]:
        jupyter = ctx.facts.jupyter
        kind = jupyter.config_kind if jupyter else "server"
        if kind == "notebook":
            return kind, ctx.paths.notebook_config, ctx.paths.notebook_config_json
        return kind, ctx.paths.server_config, ctx.paths.server_config_json

    def _values(self, ctx: Context) -> Optional[jupyter_config.ConfigValues]:
        if not (ctx.settings.password_hash and ctx.facts.certfile and ctx.facts.keyfile):
            return None
        return jupyter_config.ConfigValues(
            ip=ctx.settings.bind_ip,
            port=ctx.settings.port,
            root_dir=str(ctx.notebook_dir),
            certfile=str(ctx.facts.certfile),
            keyfile=str(ctx.facts.keyfile),
            password_hash=ctx.settings.password_hash,
        )

    @staticmethod
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

    @staticmethod
    def _json(path: Path) -> Optional[dict[str, Any]]:
        try:
            return jupyter_config.load_json(path)
        except (ValueError, OSError) as error:
            raise UserError(
                f"{path} is not valid JSON ({error}); Jupyter would refuse to start",
                hint=f"fix it, or move it away (mv {path} {path}.broken) and run again",
            ) from None

    def check(self, ctx: Context) -> Status:
        kind, config_path, json_path = self._paths(ctx)
        ctx.facts.config_file = config_path
        root = ctx.notebook_dir
        if root.exists() and not root.is_dir():
            raise UserError(
                f"the notebook folder {root} is a file",
                hint="move the file away or choose another folder with --notebook-dir",
            )
        # Read everything first: an unreadable file is bad input even before we have values.
        existing = self._read(config_path)
        data = self._json(json_path)
        values = self._values(ctx)
        if values is None:
            return Status.drift("waiting for the password and certificate", "write the config")
        updated = jupyter_config.render_file(existing, kind, values)
        _refuse_syntax_error(config_path, updated)
        problems = []
        if not existing:
            problems.append(f"{config_path} does not exist")
        else:
            block = managed_block.split(existing).block
            if block is None:
                problems.append(f"{config_path} has no jupyter-bootstrap block")
            elif updated != existing:
                problems.append(f"the managed block in {config_path} differs from the settings")
            elif mode_of(config_path) != CONFIG_MODE:
                problems.append(f"{config_path} has mode {mode_of(config_path):o}, not 600")
        conflicts = jupyter_config.conflicting_keys(kind, data) if data else []
        if conflicts:
            names = ", ".join(f"{s}.{k}" for s, k in conflicts)
            problems.append(f"{json_path.name} overrides {names}")
        if not root.is_dir():
            problems.append(f"notebook folder {root} does not exist")
        if problems:
            return Status.drift("; ".join(problems), "rewrite the managed block")
        return Status.good(f"{config_path}, serving {root}")

    def apply(self, ctx: Context, found: Status) -> str:
        kind, config_path, json_path = self._paths(ctx)
        values = self._values(ctx)
        if values is None:
            raise UserError("the password and certificate steps must run before the config")
        owner = ctx.account.owner
        notes = []
        root = ctx.notebook_dir
        if not root.is_dir():
            ensure_dir(root, 0o755, owner)
            notes.append(f"created {root}")
        ensure_dir(config_path.parent, 0o700, owner)
        existing = self._read(config_path)
        updated = jupyter_config.render_file(existing, kind, values)
        if updated != existing or mode_of(config_path) != CONFIG_MODE:
            if managed_block.outside_changes(existing, updated):
                backup = write_backup(config_path, existing.encode(), owner)
                notes.append(f"backup {backup.name}")
            atomic_write(config_path, updated, CONFIG_MODE, owner)
            notes.insert(0, f"wrote {config_path}")
        data = self._json(json_path)
        conflicts = jupyter_config.conflicting_keys(kind, data) if data else []
        if data and conflicts:
            backup = write_backup(json_path, json_path.read_bytes(), owner)
            kept = jupyter_config.without_keys(data, conflicts)
            atomic_write(json_path, json.dumps(kept, indent=2) + "\n", CONFIG_MODE, owner)
            notes.append(
                f"moved {len(conflicts)} overriding keys out of {json_path.name} into {backup.name}"
            )
        ctx.request_restart("Jupyter config changed")
        return "; ".join(notes)
