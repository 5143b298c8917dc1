"""The unit values of a stock Ubuntu instance (user ubuntu, Anaconda in ~/anaconda3), for
tests that need a realistic unit without a machine."""

from __future__ import annotations

from pathlib import Path

from jupyter_bootstrap.service.unit import UnitValues

STOCK_UNIT_VALUES = UnitValues(
    user="ubuntu",
    group="ubuntu",
    notebook_dir=Path("/home/ubuntu/Notebooks"),
    jupyter_bin=Path("/home/ubuntu/anaconda3/bin/jupyter"),
    app="notebook",
    config_file=Path("/home/ubuntu/.jupyter/jupyter_server_config.py"),
)
