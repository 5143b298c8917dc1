"""Pebble, Let's Encrypt's ACME test server (Debian's `pebble` package), on loopback ports of
its own, validating for real: it connects back to 127.0.0.1 on `http_port` (http-01) and
`tls_port` (tls-alpn-01), where the code under test must answer.

Its listeners present a certificate made here (CA:TRUE, for 127.0.0.1 and localhost):
`ca_bundle` is that file, what a client must trust to reach the directory. The CA that signs
the issued certificates is Pebble's own, made anew at every start: `root_pem()` fetches it
from the management port."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import requests

from jupyter_bootstrap import certs
from tests.support.net import free_port

PEBBLE = "pebble"
READY_WITHIN = 30.0  # seconds: Pebble makes RSA keys for its root and intermediate at start
# A name Pebble refuses to issue for (its "domainBlocklist"): the rejectedIdentifier case.
BLOCKED_NAME = "blocked.example"


def pebble_command() -> Optional[str]:
    return shutil.which(PEBBLE) or (PEBBLE if Path(f"/usr/bin/{PEBBLE}").exists() else None)


@dataclass
class Pebble:
    folder: Path
    # PEBBLE_* settings (https://github.com/letsencrypt/pebble#readme) on top of the defaults.
    settings: dict[str, str] = field(default_factory=dict)
    acme_port: int = field(default_factory=free_port)
    management_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    tls_port: int = field(default_factory=free_port)
    process: Optional[subprocess.Popen[bytes]] = None
    # How long what it issues is valid, in seconds (Pebble's default: five years); a few
    # seconds make a certificate that expires while a test watches.
    validity_seconds: Optional[int] = None

    @property
    def directory_url(self) -> str:
        return f"https://127.0.0.1:{self.acme_port}/dir"

    @property
    def ca_bundle(self) -> str:
        return str(self.folder / "listener.pem")

    @property
    def log_path(self) -> Path:
        return self.folder / "pebble.log"

    def _write_config(self) -> Path:
        config = self.folder / "pebble-config.json"
        if config.exists():
            return config  # a restart keeps the ports and the listener's certificate
        self.folder.mkdir(parents=True, exist_ok=True)
        key_pem, cert_pem = certs.self_signed(["localhost", "127.0.0.1"], "ec", certs.utc_now())
        (self.folder / "listener.key").write_bytes(key_pem)
        (self.folder / "listener.pem").write_bytes(cert_pem)
        document = {
            "pebble": {
                "listenAddress": f"127.0.0.1:{self.acme_port}",
                "managementListenAddress": f"127.0.0.1:{self.management_port}",
                "certificate": str(self.folder / "listener.pem"),
                "privateKey": str(self.folder / "listener.key"),
                "httpPort": self.http_port,
                "tlsPort": self.tls_port,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": False,
                "domainBlocklist": [BLOCKED_NAME],
            }
        }
        if self.validity_seconds is not None:
            document["pebble"]["certificateValidityPeriod"] = self.validity_seconds
        config.write_text(json.dumps(document, indent=2))
        return config

    def start(self) -> None:
        command = pebble_command()
        assert command, "pebble is not installed (apt-get install pebble)"
        config = self._write_config()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PEBBLE_")}
        # No random 0-15 s pause before each validation; validation itself stays real
        # (PEBBLE_VA_ALWAYS_VALID is never set). Authorizations reused only when asked
        # (at 0 Pebble 2.4 still reuses 1 in 100, and only for the account that made them).
        env.update({"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_AUTHZREUSE": "0", **self.settings})
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [command, "-config", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=self.folder,
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        """Both listeners answer (each is started by a goroutine of its own), or Pebble died."""
        assert self.process is not None
        deadline = time.monotonic() + READY_WITHIN
        for url in (self.directory_url, self.management_url("/roots/0")):
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"pebble exited at start:\n{self.log_text()[-3000:]}")
                try:
                    if requests.get(url, verify=self.ca_bundle, timeout=2).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"pebble not ready in {READY_WITHIN} s:\n{self.log_text()}")
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        """The same ports and listener certificate; every account, order and CA key is new."""
        self.stop()
        self.start()

    def management_url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.management_port}{path}"

    def root_pem(self) -> bytes:
        """The root CA that signs what this run of Pebble issues."""
        answer = requests.get(self.management_url("/roots/0"), verify=self.ca_bundle, timeout=5)
        answer.raise_for_status()
        return answer.content

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def accounts(self) -> int:
        """How many accounts Pebble has registered since it started."""
        counts = re.findall(r"There are now (\d+) accounts in memory", self.log_text())
        return int(counts[-1]) if counts else 0
