"""The figures of docs/reliability.md, collected while the suite runs and turned into that
page afterwards (`python -m tests.support.reliability DIR OUT.md`).

With JUPYTER_BOOTSTRAP_RELIABILITY_DIR set (.ci/run sets it), tests record figures there
as small JSON files (`record`), and the session's outcomes per test module are kept too
(tests/conftest.py). Unset, recording does nothing: a developer's run writes no files.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

ENV = "JUPYTER_BOOTSTRAP_RELIABILITY_DIR"
OUTCOMES = "outcomes.json"

# The modules the page reports on, each with what it shows.
GROUPS = {
    "tests/unit/test_catalogue.py": "bad or odd input: exact exit code, message, no change, "
    "no traceback",
    "tests/integration/test_kill_points.py": "SIGKILL at each kill point, then a plain "
    "`init` converges",
    "tests/integration/test_session_loss.py": "SIGHUP (a dropped SSH session) during the "
    "download and the installer; one run at a time",
    "tests/integration/test_legacy_setup.py": "the old tutorial's config and password: the "
    "user's choice wins",
    "tests/e2e/test_migration.py": "a machine set up with the old tutorial, taken over on "
    "real systemd",
    "tests/e2e/test_service.py": "the service on real systemd: drift, crash, reboot, hand "
    "edits, busy and low ports, rollback",
    "tests/unit/test_decisions.py": "every step's decision as a table",
}


def directory() -> Optional[Path]:
    value = os.environ.get(ENV)
    return Path(value) if value else None


def record(name: str, **figures: Any) -> None:
    """Keep `figures` under `name` for the page (nothing happens outside such a run)."""
    where = directory()
    if where is None:
        return
    where.mkdir(parents=True, exist_ok=True)
    (where / f"{name}.json").write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")


def save_outcomes(outcomes: dict[str, str]) -> None:
    """nodeid -> passed/failed/skipped, for every test of the session."""
    where = directory()
    if where is not None:
        where.mkdir(parents=True, exist_ok=True)
        (where / OUTCOMES).write_text(json.dumps(outcomes, indent=2, sort_keys=True) + "\n")


def render(where: Path) -> str:
    outcomes: dict[str, str] = {}
    if (where / OUTCOMES).exists():
        outcomes = json.loads((where / OUTCOMES).read_text())
    figures = {
        path.stem: json.loads(path.read_text())
        for path in sorted(where.glob("*.json"))
        if path.name != OUTCOMES
    }
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Reliability",
        "",
        f"Generated from a run of the test suite ({stamp}) by",
        "`python -m tests.support.reliability DIR docs/reliability.md`; `.ci/run` makes it",
        "anew on every run. Each row counts the tests of one module and how they ended.",
        "",
        "| what | tests | passed | failed | skipped |",
        "|---|---|---|---|---|",
    ]
    for module, what in GROUPS.items():
        counts = Counter(o for node, o in outcomes.items() if node.split("::")[0] == module)
        total = sum(counts.values())
        lines.append(
            f"| {what} (`{module}`) | {total} | {counts['passed']} | {counts['failed']} | "
            f"{counts['skipped']} |"
        )
    overall = Counter(outcomes.values())
    lines += [
        "",
        f"The whole suite: {sum(overall.values())} tests, {overall['passed']} passed, "
        f"{overall['failed']} failed, {overall['skipped']} skipped.",
    ]
    if figures:
        lines += ["", "## Figures recorded by the tests", ""]
        for name, data in figures.items():
            shown = ", ".join(f"{key}: {value}" for key, value in sorted(data.items()))
            lines.append(f"- **{name}**: {shown}")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m tests.support.reliability DIR OUT.md", file=sys.stderr)
        return 2
    Path(argv[1]).write_text(render(Path(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
