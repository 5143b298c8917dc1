"""install.sh as a release publishes it: the one in the checkout still names a placeholder
repository until the first release sets JB_REPOSITORY."""

from __future__ import annotations

from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "install.sh"


def with_repository(url: str) -> bytes:
    """install.sh with JB_REPOSITORY set to `url`, as a release's copy has it."""
    text = SCRIPT.read_text()
    line = next(x for x in text.splitlines() if x.startswith("JB_REPOSITORY="))
    return text.replace(line, f'JB_REPOSITORY="{url}"', 1).encode()
