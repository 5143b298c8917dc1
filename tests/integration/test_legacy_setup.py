"""A machine set up by hand with the old tutorial (classic Notebook's
jupyter_notebook_config.py with `c.NotebookApp.*` lines and a sha1 password hash), then
`init`: a real Jupyter Server accepts the new password only, and no longer warns about the
old lines on every start."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import PASSWORD, flat, init_files_only
from tests.support.jupyter_server import login, running_server
from tests.support.net import free_port

pytestmark = pytest.mark.integration

OLD_PASSWORD = "old-tutorial-password"
MOVED_WARNING = "has moved from NotebookApp to ServerApp"


def seed_tutorial_config(home: Path) -> Path:
    """What the old tutorial had people write, the sha1 hash made as it said to."""
    from jupyter_server.auth.security import passwd

    legacy: str = passwd(OLD_PASSWORD, algorithm="sha1")  # type: ignore[no-untyped-call]
    path = home / ".jupyter" / "jupyter_notebook_config.py"
    path.parent.mkdir()
    path.write_text(
        "c = get_config()\n"
        "# Kernel config\n"
        "c.IPKernelApp.pylab = 'inline'  # if you want plotting support always\n"
        "# Notebook config\n"
        f"c.NotebookApp.certfile = u'{home / 'certs' / 'mycert.pem'}'\n"
        "c.NotebookApp.ip = '*'\n"
        "c.NotebookApp.open_browser = False\n"
        f"c.NotebookApp.password = u'{legacy}'\n"
        "# It is a good idea to put it on a known, fixed port\n"
        f"c.NotebookApp.port = {free_port()}\n"
    )
    return path


def test_password_stdin_replaces_the_old_tutorials_password(
    home: Path, jupyter_prefix: Path
) -> None:
    seed_tutorial_config(home)
    port = free_port()
    result = init_files_only(jupyter_prefix, "--port", str(port))
    assert result.exit_code == 0, result.output
    assert "weak" not in result.stderr  # nothing weak is left to warn about

    config = home / ".jupyter" / "jupyter_server_config.py"
    certfile = home / "certs" / "mycert.pem"
    with running_server(jupyter_prefix, config, home, port, certfile) as base:
        new_status, _ = login(base, PASSWORD, certfile)
        old_status, _ = login(base, OLD_PASSWORD, certfile)
    assert (new_status, old_status) == (302, 401)


def test_the_old_tutorials_lines_move_out_and_jupyter_stops_warning(
    home: Path, jupyter_prefix: Path
) -> None:
    notebook_config = seed_tutorial_config(home)
    original = notebook_config.read_bytes()
    port = free_port()
    result = init_files_only(jupyter_prefix, "--port", str(port))
    assert result.exit_code == 0, result.output
    output = flat(result.output)
    assert "moved 5 old NotebookApp lines out of jupyter_notebook_config.py" in output
    assert "Note:" in output and "your other lines stayed" in output

    backups = list(notebook_config.parent.glob("jupyter_notebook_config.py.bak-*"))
    assert len(backups) == 1 and backups[0].read_bytes() == original
    assert notebook_config.read_text() == (
        "c = get_config()\n"
        "# Kernel config\n"
        "c.IPKernelApp.pylab = 'inline'  # if you want plotting support always\n"
        "# Notebook config\n"
        "# It is a good idea to put it on a known, fixed port\n"
    )

    config = home / ".jupyter" / "jupyter_server_config.py"
    certfile = home / "certs" / "mycert.pem"
    with running_server(jupyter_prefix, config, home, port, certfile) as base:
        status, _ = login(base, PASSWORD, certfile)
    assert status == 302
    log = (home / "jupyter-server.log").read_text()
    assert MOVED_WARNING not in log
    assert "Ignoring deprecated ServerApp.password" not in log

    again = init_files_only(jupyter_prefix, "--port", str(port))
    assert again.exit_code == 0, again.output
    assert "changed" not in again.output  # moved once; nothing left to move
