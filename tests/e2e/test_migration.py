"""A machine set up by hand with the old tutorial, then taken over by `init`, on real
systemd: the tutorial's jupyter_notebook_config.py with a sha1 password hash, a combined
key+certificate made with `sudo openssl` (root-owned), and `jupyter notebook` left running
under nohup on 8888. After init: the new password logs in and the old one does not, the
tutorial's files are kept as backups, the server started by hand is gone, and a re-run
changes nothing."""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import pytest

from jupyter_bootstrap.service import port_owner
from tests.e2e.instance import SystemdInstance
from tests.support import reliability
from tests.support.e2e_agent import (
    HOME,
    USER,
    assert_login_works,
    login,
    prepare,
    run_agent,
    wait_for_https,
    wait_until,
)
from tests.support.legacy_certificate import legacy_pair
from tests.support.report import step_states

pytestmark = pytest.mark.e2e

JUPYTER_ENV = f"{HOME}/jupyter-env"
PORT = 8888  # the tutorial's
OLD_PASSWORD = "the old tutorial password"
NEW_PASSWORD = "a new password for the service"
LEGACY_CONFIG = f"{HOME}/.jupyter/jupyter_notebook_config.py"
LEGACY_CERT = f"{HOME}/certs/mycert.pem"


def sha1_hash(password: str, salt: str = "0123456789ab") -> str:
    """The hash `IPython.lib.passwd()` made in the tutorial's days: sha1 of password+salt."""
    return f"sha1:{salt}:{hashlib.sha1((password + salt).encode()).hexdigest()}"


TUTORIAL_CONFIG = f"""c = get_config()
# Kernel config
c.IPKernelApp.pylab = 'inline'  # if you want plotting support always in your notebook
# Notebook config
c.NotebookApp.certfile = u'{LEGACY_CERT}'
c.NotebookApp.ip = '0.0.0.0'
c.NotebookApp.open_browser = False
c.NotebookApp.password = u'{sha1_hash(OLD_PASSWORD)}'
# It is a good idea to put it on a known, fixed port
c.NotebookApp.port = {PORT}
"""


@pytest.fixture(scope="module")
def legacy(
    systemd_instance_factory: Callable[[], SystemdInstance], agent_wheel: Path
) -> Iterator[SystemdInstance]:
    instance = systemd_instance_factory()
    try:
        prepare(instance, agent_wheel, JUPYTER_ENV)
        # The tutorial: a config by hand, `sudo openssl` in ~/certs, Jupyter under nohup.
        instance.run(f"mkdir -p {HOME}/.jupyter {HOME}/certs", user=USER)
        instance.write_file(LEGACY_CONFIG, TUTORIAL_CONFIG, owner=USER, mode=0o644)
        instance.write_file(
            LEGACY_CERT, "".join(part.decode() for part in legacy_pair()), owner="root", mode=0o644
        )
        # `nohup jupyter notebook &` from a PuTTY session: a process of the user's outside
        # any unit of ours (a transient one, so that nothing here waits for it to end).
        instance.run(
            f"systemd-run --quiet --uid={USER} --gid={USER} --unit=tutorial-jupyter "
            f"--working-directory={HOME} {JUPYTER_ENV}/bin/jupyter notebook"
        )
        wait_until(lambda: bool(port_owner.listening_inodes(PORT)), 60, "the tutorial's Jupyter")
        yield instance
    finally:
        instance.shutdown()


def legacy_pid(instance: SystemdInstance) -> str:
    """The tutorial's Jupyter ("" once it is gone; ours runs the same program)."""
    pid = instance.run("systemctl show -p MainPID --value tutorial-jupyter").stdout.strip()
    return "" if pid in ("", "0") else pid


def test_the_tutorials_server_is_named_and_nothing_changes(legacy: SystemdInstance) -> None:
    pid = legacy_pid(legacy)
    assert pid, "the tutorial's Jupyter is not running"
    before = legacy.run(f"find {HOME}/.jupyter {HOME}/certs -type f | sort").stdout
    result = run_agent(
        legacy, "init", "--prefix", JUPYTER_ENV, "--password-stdin",
        input=NEW_PASSWORD + "\n", code=2,
    )  # fmt: skip
    flat = " ".join(result.stderr.split())
    assert f"port {PORT} is already in use by process {pid}" in flat, flat
    assert "jupyter-notebook" in flat and f"kill {pid}" in flat and "--replace-running" in flat
    assert legacy_pid(legacy) == pid
    assert legacy.run(f"find {HOME}/.jupyter {HOME}/certs -type f | sort").stdout == before
    assert legacy.read_file(LEGACY_CONFIG) == TUTORIAL_CONFIG
    settings = legacy.run(f"test -e {HOME}/.config/jupyter-bootstrap/settings.json", check=False)
    assert settings.returncode != 0


def test_init_takes_over_and_the_new_password_is_the_one(
    legacy: SystemdInstance, tmp_path: Path
) -> None:
    old_cert = legacy.read_file(LEGACY_CERT)
    result = run_agent(
        legacy, "init", "--prefix", JUPYTER_ENV, "--password-stdin", "--replace-running",
        input=NEW_PASSWORD + "\n",
    )  # fmt: skip
    assert step_states(result.stdout)["service"] == "changed", result.stdout
    flat = " ".join(result.stdout.split())
    assert "stopped the Jupyter started by hand" in flat
    # What was made by hand is said before the first step line changes anything.
    found = flat.index("Found a setup made by hand")
    assert found < flat.index(" host ")
    for thing in ("password set by hand", "sets NotebookApp", "not made by jupyter-bootstrap"):
        assert thing in flat[found : flat.index(" host ")], thing
    wait_until(lambda: not legacy_pid(legacy), 20, "the tutorial's Jupyter to stop")
    cafile = tmp_path / "cert.pem"
    cafile.write_text(legacy.read_file(LEGACY_CERT))
    wait_for_https(PORT, str(cafile), 60)
    assert_login_works(PORT, str(cafile), NEW_PASSWORD)
    assert login(PORT, OLD_PASSWORD, str(cafile))[0] == 401
    # The tutorial's files are kept, as backups next to where they were.
    certs_dir = legacy.run(f"ls {HOME}/certs").stdout.split()
    backups = [n for n in certs_dir if n.startswith("mycert.pem.bak-")]
    assert backups and legacy.read_file(f"{HOME}/certs/{backups[0]}") == old_cert
    assert "NotebookApp.password" not in legacy.read_file(LEGACY_CONFIG)
    jupyter_dir = legacy.run(f"ls {HOME}/.jupyter").stdout.split()
    (config_backup,) = [n for n in jupyter_dir if n.startswith("jupyter_notebook_config.py.bak")]
    assert legacy.read_file(f"{HOME}/.jupyter/{config_backup}") == TUTORIAL_CONFIG
    # Nothing of the tutorial's config is left for Jupyter to warn about at each start.
    log = legacy.run("journalctl -u jupyter.service -o cat --no-pager").stdout
    assert "moved from NotebookApp" not in log


def test_a_re_run_changes_nothing(legacy: SystemdInstance) -> None:
    pid = legacy.run("systemctl show -p MainPID --value jupyter.service").stdout.strip()
    result = run_agent(legacy, "init")
    assert set(step_states(result.stdout).values()) == {"ok"}, result.stdout
    assert legacy.run("systemctl show -p MainPID --value jupyter.service").stdout.strip() == pid


def test_nothing_of_the_passwords_is_left_in_plaintext(legacy: SystemdInstance) -> None:
    for secret in (NEW_PASSWORD, OLD_PASSWORD):
        quoted = shlex.quote(secret)
        files = legacy.run(f"grep -rlsF {quoted} /home /etc /var/log /root /tmp", check=False)
        journal = legacy.run(f"journalctl --no-pager -o cat | grep -cF {quoted}", check=False)
        assert (files.stdout.split(), journal.stdout.strip()) == ([], "0"), secret
    reliability.record(
        "plaintext passwords on the migrated instance",
        searched="/home /etc /var/log /root /tmp and the journal",
        passwords=2,
        hits=0,
    )
