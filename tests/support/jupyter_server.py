"""A real Jupyter server started from a rendered config, and the HTTPS login a browser does."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests


@contextmanager
def running_server(
    prefix: Path,
    config: Path,
    home: Path,
    port: int,
    certfile: Path,
    app: str = "notebook",
    host: str = "localhost",
) -> Iterator[str]:
    """Start `jupyter <app> --config=<config>` as the unit would, wait until it answers over
    TLS verified against `certfile` for `host`, yield its base URL (https://HOST:PORT), stop
    it afterwards."""
    env = dict(os.environ)
    env.update(
        HOME=str(home),
        JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
        JUPYTER_DATA_DIR=str(home / ".local" / "share" / "jupyter"),
        JUPYTER_RUNTIME_DIR=str(home / ".local" / "share" / "jupyter" / "runtime"),
    )
    argv = [str(prefix / "bin" / "jupyter"), app, f"--config={config}"]
    if os.geteuid() == 0:
        # Jupyter refuses root without this; it is a command-line flag so the config under
        # test stays exactly what the agent rendered.
        argv.append("--allow-root")
    log = home / "jupyter-server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(argv, env=env, stdout=output, stderr=subprocess.STDOUT)
    base = f"https://{host}:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise AssertionError(f"jupyter exited {process.returncode}:\n{log.read_text()}")
            try:
                requests.get(f"{base}/api", verify=str(certfile), timeout=2)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"jupyter did not answer:\n{log.read_text()}") from None
                time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def login(base: str, password: str, certfile: Path) -> tuple[int, requests.Session]:
    """Log in as a browser does: GET /login for the _xsrf cookie, POST the form."""
    session = requests.Session()
    session.get(f"{base}/login", verify=str(certfile), timeout=10)
    xsrf = session.cookies.get("_xsrf", "")
    answer = session.post(
        f"{base}/login",
        data={"password": password, "_xsrf": xsrf},
        verify=str(certfile),
        allow_redirects=False,
        timeout=10,
    )
    return answer.status_code, session
