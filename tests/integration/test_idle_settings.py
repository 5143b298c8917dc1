"""The culling lines and the API token of our managed block, loaded by a real Jupyter
Server: Jupyter culls as configured, the stop-when-idle look reads its activity with the
token (and does not count as activity itself), a wrong token is refused, and a kernelspec
written after the start is listed at once."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from jupyter_bootstrap import https_probe, jupyter_activity, jupyter_config
from tests.support.cli import init_files_only
from tests.support.e2e_agent import https_session
from tests.support.jupyter_server import running_server
from tests.support.net import free_port

pytestmark = pytest.mark.integration

TOKEN = "an-api-token-of-43-characters-xxxxxxxxxxxxx"


def test_culling_token_and_kernelspecs_with_a_real_server(
    home: Path, jupyter_prefix: Path, tmp_path: Path
) -> None:
    port = free_port()
    result = init_files_only(jupyter_prefix, "--port", str(port))
    assert result.exit_code == 0, result.output
    settings = json.loads((home / ".config/jupyter-bootstrap/settings.json").read_text())
    certfile = home / "certs" / "mycert.pem"
    values = jupyter_config.ConfigValues(
        ip="127.0.0.1", port=port, root_dir=str(home / "Notebooks"), certfile=str(certfile),
        keyfile="", password_hash=settings["password_hash"], idle_timeout=40, api_token=TOKEN,
    )  # fmt: skip
    config = home / ".jupyter" / "jupyter_server_config.py"
    config.write_text(jupyter_config.render_file("", "server", values))
    assert jupyter_config.block_token(config.read_text()) == TOKEN
    target = https_probe.target_for(port, certfile, own=False, hostnames=[])
    base = f"https://localhost:{port}"
    headers = {"Authorization": f"token {TOKEN}"}
    with (
        running_server(jupyter_prefix, config, home, port, certfile),
        https_session() as api,
    ):
        first = jupyter_activity.read(target, TOKEN)
        assert (first.kernels, first.busy_kernels, first.connections) == (0, 0, 0)
        assert first.started <= first.last_activity
        time.sleep(1.5)
        again = jupyter_activity.read(target, TOKEN)
        assert again.last_activity == first.last_activity  # a look is not activity

        with pytest.raises(jupyter_activity.ActivityUnavailable, match="refuses our API token"):
            jupyter_activity.read(target, "not-the-token")

        # The culler starts with the first kernel, as configured.
        started = api.post(f"{base}/api/kernels", json={}, headers=headers, verify=str(certfile),
                           timeout=60)  # fmt: skip
        assert started.status_code == 201, started.text
        log = (home / "jupyter-server.log").read_text()
        assert "Culling kernels with idle durations > 40 seconds at 10 second intervals" in log
        assert "Culling kernels even with connected clients" in log
        assert "Culling kernels even if busy" not in log
        assert jupyter_activity.read(target, TOKEN).kernels == 1

        # Kernelspecs are read per request: one written now is listed now, no restart.
        spec = home / ".local/share/jupyter/kernels/env-late/kernel.json"
        spec.parent.mkdir(parents=True)
        argv = ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        spec.write_text(json.dumps({"argv": argv, "display_name": "Python (late)"}))
        listed = api.get(f"{base}/api/kernelspecs", headers=headers, verify=str(certfile),
                         timeout=10).json()  # fmt: skip
        assert listed["kernelspecs"]["env-late"]["spec"]["display_name"] == "Python (late)"
