"""Jinja2 filters that turn a value into a literal of the target language. Every value in
a rendered Python config or systemd unit goes through one of these, so a hostname or path
holding quotes, backslashes, newlines or `\"\"\"` is data, never code or a new directive."""

from __future__ import annotations

from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    import jinja2

PythonValue = Union[str, int, bool, None, list, tuple, PurePath]  # type: ignore[type-arg]


def python_literal(value: PythonValue) -> str:
    """A Python literal that evaluates to exactly `value`. repr() is that, for these types;
    anything else is refused rather than rendered as code."""
    if isinstance(value, PurePath):
        return repr(str(value))
    if value is None or isinstance(value, (str, bool, int)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        items = ", ".join(python_literal(item) for item in value)
        return f"[{items}]"
    raise TypeError(f"cannot render {type(value).__name__} as a Python literal")


def _reject_control(value: str) -> str:
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError(f"control characters (e.g. a newline) are not allowed: {value!r}")
    return value


def systemd_quoted(value: Union[str, PurePath]) -> str:
    """One ExecStart= argument: double-quoted with C escapes; `%` (specifiers) and `$`
    (variable expansion) doubled so systemd takes them literally."""
    return _c_quoted(str(value)).replace("$", "$$")


def systemd_executable(value: Union[str, PurePath]) -> str:
    """The program of ExecStart=. systemd refuses quotes and backslashes in it outright and
    never expands `$` there (while argv[0] gets expanded): those are errors, not escapes."""
    text = str(value)
    bad = sorted({ch for ch in text if ch in "\"'\\$"})
    if bad:
        raise ValueError(f"systemd cannot run a program whose path holds {' '.join(bad)}: {text}")
    return _c_quoted(text)


def systemd_env(value: Union[str, PurePath]) -> str:
    """One Environment= assignment (`NAME=value`): like systemd_quoted, but `$` stays single
    because systemd does not expand variables there (`$$` would stay two dollars)."""
    return _c_quoted(str(value))


def _c_quoted(text: str) -> str:
    text = _reject_control(text)
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return f'"{text}"'


def systemd_plain(value: Union[str, PurePath]) -> str:
    """A whole-line value such as WorkingDirectory= or User=: no quoting there, only
    specifiers are expanded, and surrounding blanks would be stripped by systemd."""
    text = _reject_control(str(value))
    if text != text.strip():
        raise ValueError(f"leading or trailing blanks are not allowed: {text!r}")
    return text.replace("%", "%%")


FILTERS = {
    "py": python_literal,
    "systemd_quoted": systemd_quoted,
    "systemd_executable": systemd_executable,
    "systemd_env": systemd_env,
    "systemd_plain": systemd_plain,
}


def template_environment(directory: Path) -> jinja2.Environment:
    """A jinja2 Environment with autoescape off (neither target is HTML) and our filters.
    StrictUndefined: a missing value is a bug, not an empty string in a config."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory)),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    return env
