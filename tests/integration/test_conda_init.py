"""`init` on a machine without conda: the installer comes from a loopback server, conda is
installed into a fresh prefix, Jupyter is configured from it and really serves; a second
`init` downloads nothing and runs no installer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from jupyter_bootstrap.conda_installers import default_filename
from tests.support.cli import PASSWORD, flat, init_no_service, invoke
from tests.support.fake_installer import ARCH, InstallerSite, conda_commands
from tests.support.jupyter_server import login, running_server
from tests.support.net import free_port
from tests.support.report import step_lines

pytestmark = pytest.mark.integration


def test_init_installs_conda_configures_jupyter_and_a_rerun_does_nothing(
    site: InstallerSite, home: Path
) -> None:
    url, digest, _ = site.publish(
        "/downloads/Anaconda3-test-Linux-x86_64.sh", distribution="anaconda"
    )
    prefix = site.prefix("anaconda3")
    port = free_port()
    first = init_no_service(
        "--port",
        str(port),
        "--prefix",
        str(prefix),
        "--installer-url",
        url,
        "--installer-sha256",
        digest,
    )
    assert first.exit_code == 0, first.output
    steps = step_lines(first.output)
    assert steps["conda"].startswith("changed installed Anaconda 2024.10 (conda 24.9.2)")
    assert steps["shell"].startswith("changed conda init bash")
    assert steps["jupyter"].startswith(f"ok {prefix}: notebook")
    assert "source ~/.bashrc" in first.output

    # One download, one installer run (batch mode, into the prefix); installer deleted.
    assert site.gets() == 1
    assert site.runs() == [f"-b -p {prefix}"]
    assert list((home / ".cache" / "jupyter-bootstrap" / "downloads").iterdir()) == []
    assert f"{prefix}/bin/conda" in (home / ".bashrc").read_text()
    saved = json.loads((home / ".config" / "jupyter-bootstrap" / "settings.json").read_text())
    assert saved["prefix"] == str(prefix)
    assert (saved["installer_url"], saved["installer_sha256"]) == (url, digest)
    assert saved["distribution"] == "anaconda"  # told by the installer's name

    # Jupyter from the new prefix serves the rendered config over HTTPS with the password.
    config = home / ".jupyter" / "jupyter_server_config.py"
    certfile = home / "certs" / "mycert.pem"
    with running_server(prefix, config, home, port, certfile) as base:
        assert requests.get(f"{base}/api", verify=str(certfile), timeout=10).status_code == 200
        login_status, session = login(base, PASSWORD, certfile)
        assert login_status == 302
        assert session.get(f"{base}/api/contents", verify=str(certfile), timeout=10).ok

    # Again, with no flags: nothing fetched, no installer, conda untouched.
    requests_before = len(site.server.requests())
    again = invoke("init", input="")
    assert again.exit_code == 0, again.output
    steps = step_lines(again.output)
    for name in ("conda", "shell", "jupyter", "password", "certificate", "config"):
        assert steps[name].startswith("ok"), (name, again.output)
    assert str(prefix) in steps["conda"]
    assert len(site.server.requests()) == requests_before
    assert site.runs() == [f"-b -p {prefix}"]
    assert conda_commands(prefix) == [{"command": "init", "bashrc": str(home / ".bashrc")}]

    status = invoke("status")
    assert status.exit_code == 0, status.output
    assert f"Anaconda 2024.10 (conda 24.9.2) in {prefix}" in flat(status.output)


def test_miniconda_hash_from_the_index_page_and_notebook_installed_with_the_terms_accepted(
    site: InstallerSite, home: Path
) -> None:
    """The default path for a small distribution: no --installer-url, the sha256 read from
    the publisher's index page, notebook installed by the new conda."""
    site.publish_default("miniconda")
    prefix = site.prefix("miniconda3")
    result = init_no_service(
        "--distribution", "miniconda", "--prefix", str(prefix), "--accept-anaconda-tos"
    )
    assert result.exit_code == 0, result.output
    steps = step_lines(result.output)
    assert steps["conda"].startswith("changed installed Miniconda (conda 24.9.2)")
    assert steps["jupyter"] == f"changed installed notebook into {prefix} from Anaconda's channels"
    gets = [r.path for r in site.server.requests(method="GET")]
    assert gets == ["/miniconda/", "/miniconda/" + default_filename("miniconda", ARCH)]
    installs = [c for c in conda_commands(prefix) if c["command"] == "install"]
    assert installs == [
        {
            "command": "install",
            "packages": ["notebook"],
            "channels": ["defaults"],
            "override": False,
            "auto_accept_tos": True,
        }
    ]
    assert invoke("status").exit_code == 0
