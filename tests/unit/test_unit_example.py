"""systemd/jupyter.service.example is what the template renders for a stock instance, so a
reader of the top-level folder sees the real unit; this keeps the two from drifting apart."""

from __future__ import annotations

from pathlib import Path

from jupyter_bootstrap.service import unit as units
from tests.support.stock_instance import STOCK_UNIT_VALUES

EXAMPLE = Path(__file__).resolve().parents[2] / "systemd" / "jupyter.service.example"


def test_the_example_unit_is_what_the_template_renders() -> None:
    assert EXAMPLE.read_text() == units.render(STOCK_UNIT_VALUES), (
        "regenerate it: python -c 'from tests.unit.test_unit_example import write; write()'"
    )


def write() -> None:
    EXAMPLE.write_text(units.render(STOCK_UNIT_VALUES))
