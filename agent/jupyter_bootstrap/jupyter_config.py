"""The Jupyter config file we manage: rendering our block, finding a password hash that is
already configured, and the JSON file whose values would silently override ours."""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from jupyter_bootstrap import managed_block
from jupyter_bootstrap.literals import template_environment
from jupyter_bootstrap.paths import template_dir

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


@dataclass(frozen=True)
class ConfigValues:
    ip: str
    port: int
    root_dir: str
    certfile: str
    keyfile: str
    password_hash: str


def render_block(kind: str, values: ConfigValues) -> str:
    template = template_environment(template_dir()).get_template(TEMPLATES[kind])
    return template.render(
        ip=values.ip,
        port=values.port,
        root_dir=values.root_dir,
        certfile=values.certfile,
        keyfile=values.keyfile,
        password_hash=values.password_hash,
    )


def render_file(existing: str, kind: str, values: ConfigValues) -> str:
    return managed_block.render(existing, render_block(kind, values))


def assigned_hashes(python_source: str) -> list[str]:
    """Literal password hashes assigned in a config file, last assignment first (the one
    that wins). Parsed, never executed: the file is the user's and may be anything."""
    try:
        tree = ast.parse(python_source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        target = node.targets[0]
        if (
            isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Attribute)
            and isinstance(target.value.value, ast.Name)
            and target.value.value.id == "c"
            and (target.value.attr, target.attr) in HASH_TARGETS
        ):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            if isinstance(value, str) and value:
                found.append((node.lineno, value))
    return [value for _, value in sorted(found, reverse=True)]


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
