"""The e2e tiers' shared ways into an instance with the agent and out again: the agent
installed through install.sh as a user would, `jupyter-bootstrap` run as
the login user, and the browser's side of a login from this process (an instance shares the
host's network, so its server is on 127.0.0.1)."""

from __future__ import annotations

import shlex
import subprocess
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Optional

import requests

from tests.e2e.instance import SystemdInstance
from tests.support.install_agent import install_agent as install_with_script
from tests.support.install_agent import serve_installer

USER = "ubuntu"
HOME = f"/home/{USER}"
PASSWORD = "e2e correct horse battery"


def install_agent(instance: SystemdInstance, wheel: Path) -> None:
    """The one place the agent gets into an instance, the way a user's gets in:
    `curl .../install.sh | bash` from a loopback server, as ubuntu in a login shell."""
    with serve_installer(wheel) as served:
        install_with_script(instance, served)


def prepare(instance: SystemdInstance, wheel: Path, jupyter_env: str) -> None:
    """A fresh instance made ready for a journey: no metadata lookups inside, a Jupyter
    environment at `jupyter_env` (the prefix init is pointed at) and the agent installed
    through install.sh. The two pip installs overlap: most of their time is downloads."""
    instance.run("echo JUPYTER_BOOTSTRAP_METADATA_URL=off >> /etc/environment")
    instance.ensure_venv_support()
    with ThreadPoolExecutor(2) as pool:
        jupyter = pool.submit(instance.make_venv, jupyter_env, ["notebook"])
        agent = pool.submit(install_agent, instance, wheel)
        jupyter.result()
        agent.result()


def run_agent(
    instance: SystemdInstance,
    *args: str,
    input: Optional[str] = None,
    code: Optional[int] = 0,
    env: Optional[Mapping[str, str]] = None,
) -> subprocess.CompletedProcess[str]:
    """`jupyter-bootstrap ARGS` as ubuntu in a login shell (no terminal, like cloud-init or
    a pipe), with `env` exported on top (e.g. a loopback metadata service's URL). Asserts the
    exit code unless `code` is None."""
    result = instance.run(
        shlex.join(["jupyter-bootstrap", *args]),
        user=USER,
        input=input,
        check=False,
        timeout=300,
        # Never the EC2 metadata address, inside as in every test: off, unless `env` points
        # it at a loopback stand-in.
        env={"JUPYTER_BOOTSTRAP_METADATA_URL": "off", **(env or {})},
    )
    if code is not None:
        assert result.returncode == code, f"{args}: {result.stdout}\n{result.stderr}"
    return result


def https_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy for 127.0.0.1; verify= below is what counts
    return session


def login(
    port: int, password: str, cafile: str, host: str = "localhost"
) -> tuple[int, requests.Session, str]:
    """The browser's login: GET /login for the _xsrf cookie, POST the form. TLS is verified
    against `cafile` for the name `host` (`localhost`, or an address the certificate lists:
    all of 127.0.0.0/8 is this machine)."""
    session = https_session()
    base = f"https://{host}:{port}"
    session.get(f"{base}/login", verify=cafile, timeout=30)
    xsrf = session.cookies.get("_xsrf") or ""
    answer = session.post(
        f"{base}/login",
        data={"password": password, "_xsrf": xsrf},
        verify=cafile,
        allow_redirects=False,
        timeout=30,
    )
    return answer.status_code, session, xsrf


def assert_login_works(port: int, cafile: str, password: str = PASSWORD) -> None:
    status, session, _ = login(port, password, cafile)
    assert status == 302
    contents = session.get(f"https://localhost:{port}/api/contents", verify=cafile, timeout=30)
    assert contents.status_code == 200
    assert login(port, "not the password", cafile)[0] == 401


def wait_for_https(port: int, cafile: str, timeout: float) -> float:
    """Seconds until GET /api answers over verified TLS (fails the test after `timeout`)."""
    started = time.monotonic()
    while True:
        try:
            answer = https_session().get(f"https://localhost:{port}/api", verify=cafile, timeout=5)
            if answer.status_code == 200:
                return time.monotonic() - started
        except requests.RequestException:
            pass
        assert time.monotonic() - started < timeout, f"no HTTPS on {port} after {timeout} s"
        time.sleep(0.2)


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < timeout, f"{what}: not within {timeout} s"
        time.sleep(0.1)
    return time.monotonic() - started
