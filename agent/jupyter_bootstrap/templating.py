"""Rendering our templates (Jupyter configs, systemd units). A converged run renders each
one only to compare it with the file on disk, so the last rendering of each template is
kept (derived.py) with the digest of all it depends on: the agent's and jinja2's
versions, the template's source, the filters' source and the values."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path, PurePath
from typing import Any, Optional

from jupyter_bootstrap import __version__, derived, literals
from jupyter_bootstrap.paths import template_dir

KIND = "rendered"


def render(template: str, **values: Any) -> str:
    """`template` (a file in the templates directory) rendered with `values`."""
    key = _key(template, values)
    kept = derived.recall(KIND, template, key) if key is not None else None
    if kept is not None:
        try:
            return kept.decode("utf-8")
        except UnicodeDecodeError:
            pass  # not what we keep: render it again
    text = literals.template_environment(template_dir()).get_template(template).render(**values)
    if key is not None:
        # (A value holding undecodable bytes, as a path or variable may: nothing to keep.)
        with contextlib.suppress(UnicodeEncodeError):
            derived.keep(KIND, template, key, text.encode("utf-8"))
    return text


def _key(template: str, values: dict[str, Any]) -> Optional[str]:
    """None when a value has no known exact text form: then nothing is recalled or kept.
    Keys keep their order (a template may loop over a mapping). A tuple and a list, or a
    path and its string, give the same key: every filter renders them alike."""
    try:
        canonical = json.dumps(values, default=_plain)
    except TypeError:
        return None
    # jinja2's version, from its package file (which holds __version__): an upgrade of
    # jinja2 alone renders everything again.
    jinja2 = derived.package_code("jinja2", "__init__.py")
    if jinja2 is None:
        return None
    return derived.digest(
        __version__.encode(),
        *jinja2,
        template.encode(),
        (template_dir() / template).read_bytes(),
        Path(literals.__file__).read_bytes(),
        canonical.encode(),
    )


def _plain(value: object) -> str:
    # Every filter renders a path as its string; other types are not known to render so.
    if isinstance(value, PurePath):
        return str(value)
    raise TypeError(type(value).__name__)
