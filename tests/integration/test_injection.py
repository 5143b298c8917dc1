"""Hostile paths are rendered as data: Jupyter loads the config and sees the literal values,
and nothing hidden in them runs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from jupyter_bootstrap import certs
from tests.support.cli import init_files_only

pytestmark = pytest.mark.integration

# Each tries to end the string literal and run code that would leave a canary file.
PAYLOADS = [
    "q'uote; open('CANARY','w') #",
    'dq"uote; open("CANARY","w") #',
    "tri\"\"\"ple'''; open('CANARY','w') #",
    "back\\slash\\'; open('CANARY','w') #",
    "new\nline'\nopen('CANARY','w')\n#",
]

LOAD_CONFIG = """
import json, sys
from traitlets.config.loader import PyFileConfigLoader
config = PyFileConfigLoader(sys.argv[1], path=sys.argv[2]).load_config()
app = config.ServerApp
print(json.dumps({"root_dir": app.root_dir, "certfile": app.certfile, "keyfile": app.keyfile,
                  "ip": app.ip, "port": app.port}))
"""


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_paths_stay_literal(
    home: Path, jupyter_prefix: Path, tmp_path: Path, payload: str
) -> None:
    canary = tmp_path / "CANARY"
    notebooks = tmp_path / f"nb {payload}"
    notebooks.mkdir()
    own = tmp_path / f"certs {payload}"
    own.mkdir()
    key, cert = certs.self_signed(["localhost"], "ec", certs.utc_now())
    (own / "c.pem").write_bytes(cert)
    (own / "k.pem").write_bytes(key)
    result = init_files_only(
        jupyter_prefix,
        "--notebook-dir",
        str(notebooks),
        "--certfile",
        str(own / "c.pem"),
        "--keyfile",
        str(own / "k.pem"),
    )
    assert result.exit_code == 0, result.output
    config = home / ".jupyter" / "jupyter_server_config.py"
    # Jupyter's own loader executes the file exactly as the server does, in tmp_path.
    loaded = subprocess.run(
        [
            str(jupyter_prefix / "bin" / "python"),
            "-c",
            LOAD_CONFIG,
            config.name,
            str(config.parent),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    values = json.loads(loaded.stdout)
    assert values == {
        "root_dir": str(notebooks),
        "certfile": str(own / "c.pem"),
        "keyfile": str(own / "k.pem"),
        "ip": "0.0.0.0",
        "port": 8888,
    }
    assert not canary.exists()
