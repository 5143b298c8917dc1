"""The Jupyter config file we manage: rendering our block, finding a password hash that is
already configured, the JSON file whose values would silently override ours, and the
classic Notebook settings an old hand-made setup left behind."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any, NamedTuple, Optional

from jupyter_bootstrap import managed_block, templating

TEMPLATES = {
    "server": "jupyter_server_config.py.j2",
    "notebook": "jupyter_notebook_config.py.j2",
}

# Keys in the JSON sibling that win over our .py: (section, key) pairs per config kind.
CONFLICTING_JSON_KEYS = {
    "server": [
        ("IdentityProvider", "hashed_password"),
        ("PasswordIdentityProvider", "hashed_password"),
        ("ServerApp", "password"),
        ("ServerApp", "ip"),
        ("ServerApp", "port"),
        ("ServerApp", "certfile"),
        ("ServerApp", "keyfile"),
        ("ServerApp", "root_dir"),
        ("ServerApp", "port_retries"),
        ("NotebookApp", "password"),
    ],
    "notebook": [
        ("NotebookApp", "password"),
        ("NotebookApp", "ip"),
        ("NotebookApp", "port"),
        ("NotebookApp", "certfile"),
        ("NotebookApp", "keyfile"),
        ("NotebookApp", "notebook_dir"),
        ("NotebookApp", "port_retries"),
    ],
}

# Assignments that set a password hash, newest first (hand-made classic Notebook setups
# used NotebookApp.password).
HASH_TARGETS = (
    ("PasswordIdentityProvider", "hashed_password"),
    ("IdentityProvider", "hashed_password"),
    ("ServerApp", "password"),
    ("NotebookApp", "password"),
)


# Where the API token of the stop-when-idle check is set (Jupyter Server 2, classic Notebook).
TOKEN_TARGETS = (("IdentityProvider", "token"), ("NotebookApp", "token"))
# Jupyter looks for idle kernels this often at most; more often for short timeouts, so a
# kernel is shut down within a quarter of its timeout after it is due.
LONGEST_CULL_INTERVAL = 300


# What our Jupyter Server config sets, as a hand-made classic Notebook config spelled it
# (`c.NotebookApp.<key>` in jupyter_notebook_config.py). Notebook 7 still reads that file
# and hands these to the server, logging "'ip' has moved from NotebookApp to ServerApp" for
# each on every start; the password competes with ours.
LEGACY_NOTEBOOK_KEYS = (
    "password",
    "certfile",
    "keyfile",
    "ip",
    "port",
    "port_retries",
    "open_browser",
    "notebook_dir",
    "allow_password_change",
)


class LegacyCleanup(NamedTuple):
    """A classic Notebook config with our settings' legacy lines taken out."""

    kept: str
    # What was taken out ("NotebookApp.ip", ...), in file order.
    moved: tuple[str, ...]


class ConfigValues(NamedTuple):
    ip: str
    port: int
    root_dir: str
    certfile: str
    keyfile: str
    password_hash: str
    # Seconds before an idle kernel or terminal is shut down; 0: never.
    idle_timeout: int = 0
    # A token for the stop-when-idle check to read Jupyter's activity with; "": none.
    api_token: str = ""

    @property
    def cull_interval(self) -> int:
        return cull_interval(self.idle_timeout)


def cull_interval(idle_timeout: int) -> int:
    """How often Jupyter looks for kernels idle for `idle_timeout` seconds."""
    return max(1, min(LONGEST_CULL_INTERVAL, idle_timeout // 4))


def render_block(kind: str, values: ConfigValues) -> str:
    return templating.render(
        TEMPLATES[kind],
        ip=values.ip,
        port=values.port,
        root_dir=values.root_dir,
        certfile=values.certfile,
        keyfile=values.keyfile,
        password_hash=values.password_hash,
        idle_timeout=values.idle_timeout,
        cull_interval=values.cull_interval,
        api_token=values.api_token,
    )


def render_file(existing: str, kind: str, values: ConfigValues) -> str:
    return managed_block.render(existing, render_block(kind, values))


def assigned_strings(python_source: str, targets: tuple[tuple[str, str], ...]) -> list[str]:
    """Literal strings assigned to `targets` (`c.<section>.<key>`) in a config file, last
    assignment first (the one that wins). Parsed, never executed: the file is the user's
    and may be anything."""
    try:
        tree = ast.parse(python_source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and config_target(node) in targets:
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            if isinstance(value, str) and value:
                found.append((node.lineno, value))
    return [value for _, value in sorted(found, reverse=True)]


def assigned_hashes(python_source: str) -> list[str]:
    """The password hashes a config file sets, the winning one first."""
    return assigned_strings(python_source, HASH_TARGETS)


def block_token(text: str) -> str:
    """The API token our managed block sets in a config file's text; "" when none."""
    block = managed_block.split(text).block
    found = assigned_strings(block, TOKEN_TARGETS) if block else []
    return found[0] if found else ""


def json_hashes(data: dict[str, Any]) -> list[str]:
    found = []
    for section, key in HASH_TARGETS:
        value = data.get(section, {}).get(key) if isinstance(data.get(section), dict) else None
        if isinstance(value, str) and value:
            found.append(value)
    return found


def load_json(path: Path) -> Optional[dict[str, Any]]:
    """The JSON config, None when absent; a broken one raises ValueError (Jupyter would
    refuse to start with it too)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    data = json.loads(text) if text.strip() else {}
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def conflicting_keys(kind: str, data: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (section, key)
        for section, key in CONFLICTING_JSON_KEYS[kind]
        if isinstance(data.get(section), dict) and key in data[section]
    ]


def without_keys(data: dict[str, Any], keys: list[tuple[str, str]]) -> dict[str, Any]:
    """A copy of `data` without `keys`; sections left empty are dropped."""
    result: dict[str, Any] = {}
    for section, content in data.items():
        if isinstance(content, dict):
            kept = {k: v for k, v in content.items() if (section, k) not in keys}
            if kept or not content:
                result[section] = kept
        else:
            result[section] = content
    return result


def config_target(statement: ast.stmt) -> Optional[tuple[str, str]]:
    """(section, key) when the statement is `c.<section>.<key> = ...`, the one form of a
    Jupyter config line; None for anything else."""
    if not isinstance(statement, ast.Assign) or len(statement.targets) != 1:
        return None
    target = statement.targets[0]
    if (
        isinstance(target, ast.Attribute)
        and isinstance(target.value, ast.Attribute)
        and isinstance(target.value.value, ast.Name)
        and target.value.value.id == "c"
    ):
        return target.value.attr, target.attr
    return None


def _legacy_key(statement: ast.stmt) -> Optional[str]:
    """`key` when the statement is `c.NotebookApp.<key> = ...` for one of our settings."""
    found = config_target(statement)
    if found is not None and found[0] == "NotebookApp" and found[1] in LEGACY_NOTEBOOK_KEYS:
        return found[1]
    return None


def without_legacy_notebook_settings(python_source: str) -> Optional[LegacyCleanup]:
    """The source without its top-level `c.NotebookApp.<our key> = ...` lines; None when
    there are none (or the file does not parse: Jupyter skips it then, and it is the user's
    to fix). A statement sharing a line with another one, or nested in a block, stays: taking
    it out could change or break the user's other lines."""
    try:
        tree = ast.parse(python_source)
    except SyntaxError:
        return None
    spans = [(node.lineno, node.end_lineno or node.lineno) for node in tree.body]
    drop: set[int] = set()
    moved: list[str] = []
    for index, node in enumerate(tree.body):
        key = _legacy_key(node)
        first, last = spans[index]
        shares_a_line = any(
            other_first <= last and first <= other_last
            for other_index, (other_first, other_last) in enumerate(spans)
            if other_index != index
        )
        if key is None or shares_a_line:
            continue
        drop.update(range(first, last + 1))
        moved.append(f"NotebookApp.{key}")
    if not moved:
        return None
    # Split on "\n" alone, as the parser numbers lines (str.splitlines also breaks at form
    # feeds and other characters that Python source treats as plain whitespace).
    lines = python_source.split("\n")
    kept = "\n".join(line for number, line in enumerate(lines, 1) if number not in drop)
    try:
        ast.parse(kept)
    except SyntaxError:
        return None
    return LegacyCleanup(kept, tuple(moved))
