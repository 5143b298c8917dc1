"""Fixtures of the integration tier: a real ACME CA (Pebble) on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Callable, Optional

import pytest

from tests.support.pebble import Pebble, pebble_command
from tests.support.require import skip_or_fail

StartPebble = Callable[..., Pebble]


def _require_pebble() -> None:
    if pebble_command() is None:
        skip_or_fail("pebble (Let's Encrypt's ACME test server) is not installed")


@pytest.fixture(scope="session")
def pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pebble]:
    """One Pebble for the session. Safe to share: each test orders with an account of its own
    (its own state folder), and Pebble reuses an authorization only for the account that
    made it, so no test sees another's. A test that stops Pebble or changes its settings
    starts its own instead."""
    _require_pebble()
    running = Pebble(tmp_path_factory.mktemp("pebble"))
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def start_pebble(tmp_path: Path) -> Iterator[StartPebble]:
    """`start_pebble(PEBBLE_WFE_NONCEREJECT="25")`: a Pebble of the test's own with those
    settings, stopped after the test."""
    _require_pebble()
    started: list[Pebble] = []

    def start(validity_seconds: Optional[int] = None, **settings: str) -> Pebble:
        folder = tmp_path / f"pebble-{len(started)}"
        instance = Pebble(folder, settings=settings, validity_seconds=validity_seconds)
        started.append(instance)
        instance.start()
        return instance

    yield start
    for instance in started:
        instance.stop()
