"""Skips that CI turns into failures: a test that cannot run here is skipped with its reason,
but when JUPYTER_BOOTSTRAP_REQUIRE_E2E=1 (CI, where everything must be able to run) the
same reason fails it, so nothing silently stops being tested."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

REQUIRE_ENV = "JUPYTER_BOOTSTRAP_REQUIRE_E2E"


def skip_or_fail(reason: str) -> NoReturn:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1 turns this skip into a failure)")
    pytest.skip(reason)
