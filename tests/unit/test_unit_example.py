"""systemd/jupyter.service.example is what the template renders for a stock instance, so a
reader of the top-level folder sees the real unit; this keeps the two from drifting apart."""

from __future__ import annotations

from pathlib import Path

from jupyter_bootstrap.service import unit as units

EXAMPLE = Path(__file__).resolve().parents[2] / "systemd" / "jupyter.service.example"

STOCK_INSTANCE = units.UnitValues(
    user="ubuntu",
    group="ubuntu",
    notebook_dir=Path("/home/ubuntu/Notebooks"),
    jupyter_bin=Path("/home/ubuntu/anaconda3/bin/jupyter"),
    app="notebook",
    config_file=Path("/home/ubuntu/.jupyter/jupyter_server_config.py"),
)


def test_the_example_unit_is_what_the_template_renders() -> None:
    assert EXAMPLE.read_text() == units.render(STOCK_INSTANCE), (
        "regenerate it: python -c 'from tests.unit.test_unit_example import write; write()'"
    )


def write() -> None:
    EXAMPLE.write_text(units.render(STOCK_INSTANCE))
