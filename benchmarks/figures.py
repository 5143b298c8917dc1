"""One line of docs/performance.md: what was measured, its baseline measured in the same
run, the ratio (or difference) and the target, and whether the target was met."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Figure:
    target: str  # the number of the target ("1", "3"...)
    what: str
    ours: str  # formatted, with its unit
    baseline_what: str
    baseline: str
    ratio: str  # "1.08x", "+0.9 s", "50.0 %"
    goal: str  # "<= 1.2x"
    met: bool
    note: str = ""


@dataclass
class Section:
    """A group of figures, with the reason when they could not be measured here."""

    title: str
    figures: list[Figure] = field(default_factory=list)
    skipped: str = ""  # why nothing was measured (e.g. not root)
    details: list[str] = field(default_factory=list)  # extra lines (a sample of --timings)


def seconds(value: float) -> str:
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def times(value: float) -> str:
    return f"{value:.2f}x"
