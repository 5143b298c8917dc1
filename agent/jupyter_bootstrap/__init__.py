"""jupyter-bootstrap: one converging command from a fresh Ubuntu instance to HTTPS Jupyter."""

__version__ = "0.1.0"
