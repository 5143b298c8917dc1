"""Paired timings: each figure is measured in turn with its baseline (A B A B ...), so that
a machine whose speed drifts (other people's tests, a noisy neighbour) slows both alike,
and the ratio of each pair is what is summarised. Medians, never means: one run delayed by
the machine says nothing about the code."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Callable

# The floor for every figure: at least this many counted runs.
MIN_RUNS = 7


@dataclass(frozen=True)
class Paired:
    """Counted runs of A and of its baseline B, in the order they ran."""

    a: tuple[float, ...]
    b: tuple[float, ...]

    @property
    def a_median(self) -> float:
        return statistics.median(self.a)

    @property
    def b_median(self) -> float:
        return statistics.median(self.b)

    @property
    def ratio(self) -> float:
        """The median of the pairwise ratios A/B."""
        return statistics.median(x / y for x, y in zip(self.a, self.b))

    @property
    def difference(self) -> float:
        """The median of the pairwise differences A - B."""
        return statistics.median(x - y for x, y in zip(self.a, self.b))

    @property
    def spread(self) -> str:
        """min-max of A and of B: a wide one says the machine was busy."""
        return f"A {min(self.a):.3f}-{max(self.a):.3f}, B {min(self.b):.3f}-{max(self.b):.3f}"


def paired(
    a: Callable[[], float], b: Callable[[], float], runs: int = MIN_RUNS, warmup: int = 1
) -> Paired:
    """Run `a` then `b`, `warmup` times uncounted (caches, .pyc files) and `runs` times
    counted. Each callable does one run and returns the seconds it measured."""
    for _ in range(warmup):
        a()
        b()
    a_runs: list[float] = []
    b_runs: list[float] = []
    for _ in range(max(runs, 1)):
        a_runs.append(a())
        b_runs.append(b())
    return Paired(tuple(a_runs), tuple(b_runs))


def median(values: Sequence[float]) -> float:
    return statistics.median(values)
