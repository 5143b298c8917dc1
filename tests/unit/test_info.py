"""`info` and `cert export | fingerprint`: what the user reads after `init`, checked against
golden text (the README shows the same text), the JSON document against its schema, and
what bad input gets."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from jupyter_bootstrap import netaddrs, trust_anchor
from jupyter_bootstrap.console import WIDTH
from tests.support.cli import flat, init_on_port, invoke
from tests.support.fake_systemd import FakeSystemd
from tests.support.metadata_server import MetadataServer, metadata_service

REPO = Path(__file__).parents[2]
GOLDEN = Path(__file__).parent / "golden"
PUBLIC_NAME = "ec2-3-8-1-2.eu-west-2.compute.amazonaws.com"
PUBLIC_IP = "3.8.1.2"
PRIVATE_IP = "172.31.5.6"


@pytest.fixture
def imds(monkeypatch: pytest.MonkeyPatch) -> Iterator[MetadataServer]:
    """The instance metadata service of an EC2 instance, on loopback."""
    with metadata_service(public_hostname=PUBLIC_NAME, public_ipv4=PUBLIC_IP) as server:
        monkeypatch.setenv("JUPYTER_BOOTSTRAP_METADATA_URL", server.url)
        yield server


@pytest.fixture
def one_interface(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine's own addresses go into the certificate: pinned, so the text is stable."""
    monkeypatch.setattr(netaddrs, "interface_ipv4_addresses", lambda: [PRIVATE_IP])


@pytest.fixture
def set_up(
    fake: FakeSystemd, jupyter_prefix: Path, port: int, imds: MetadataServer, one_interface: None
) -> Path:
    init_on_port(jupyter_prefix, port)
    return jupyter_prefix


SHOWN_FINGERPRINT = ":".join(f"{(i * 37 + 11) % 256:02X}" for i in range(32))


def served_fingerprint(home: Path) -> str:
    pem = (home / "certs" / "mycert.pem").read_bytes()
    return trust_anchor.fingerprint_sha256(x509.load_pem_x509_certificate(pem))


def normalised(text: str, home: Path, port: int) -> str:
    """The parts that differ from run to run replaced by what a user of an `ubuntu` instance
    would see, so that the golden text reads like the real thing."""
    user = home.owner()
    fingerprint = served_fingerprint(home)
    half = len(fingerprint) // 2 + 1  # the text splits it there, over two lines
    for real, shown in (
        (fingerprint[:half], SHOWN_FINGERPRINT[:half]),
        (fingerprint[half:], SHOWN_FINGERPRINT[half:]),
        (str(home), "/home/ubuntu"),
        (f"{user}@", "ubuntu@"),
        (f" for {user},", " for ubuntu,"),
    ):
        text = text.replace(real, shown)
    # In a table the port is padded to its column: keep the width when it shrinks to 8888.
    text = re.sub(
        rf"\b{port}( {{2,}})", lambda m: "8888" + m.group(1) + " " * (len(str(port)) - 4), text
    )
    text = re.sub(rf"\b{port}\b", "8888", text)
    text = re.sub(
        r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?",
        lambda m: "2027-12-02" + (" 10:00" if m.group(1) else ""),
        text,
    )
    return re.sub(r"running for \d+[dhms]( \d+[hms])?", "running for 2h 05m", text)


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("JUPYTER_BOOTSTRAP_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert text == path.read_text(), f"{name} changed: JUPYTER_BOOTSTRAP_UPDATE_GOLDEN=1 to accept"


def info_text(home: Path, port: int, *args: str) -> str:
    result = invoke("info", *args)
    assert result.exit_code == 0, result.output
    assert all(len(line) <= WIDTH for line in result.output.splitlines()), result.output
    return normalised(result.output, home, port)


def test_info_in_public_mode(set_up: Path, home: Path, port: int) -> None:
    text = info_text(home, port)
    check_golden("info-public.txt", text)
    assert f"https://{PUBLIC_NAME}:8888/" in text and f"https://{PUBLIC_IP}:8888/" in text
    assert f"ubuntu@{PUBLIC_NAME}:jupyter.crt" in text  # pscp and scp, the real name filled in
    assert "Custom TCP  TCP       8888" in text


def test_info_in_tunnel_mode(fake: FakeSystemd, jupyter_prefix: Path, port: int, home: Path,
                             imds: MetadataServer, one_interface: None) -> None:  # fmt: skip
    init_on_port(jupyter_prefix, port, "--access", "tunnel")
    text = info_text(home, port)
    check_golden("info-tunnel.txt", text)
    assert "https://localhost:8888/" in text
    assert f"ssh -i KEY.pem -N -L 8888:localhost:8888 ubuntu@{PUBLIC_NAME}" in text
    assert "Custom TCP" not in text  # Jupyter's port stays closed in the security group


def test_the_readme_shows_info_as_it_is(set_up: Path, home: Path, port: int) -> None:
    readme = (REPO / "README.md").read_text()
    for name in ("info-public.txt", "info-tunnel.txt"):
        shown = (GOLDEN / name).read_text()
        assert shown in readme, f"README.md does not show tests/unit/golden/{name}"


def test_init_ends_with_the_short_form_and_points_to_info(
    fake: FakeSystemd, jupyter_prefix: Path, port: int, imds: MetadataServer
) -> None:
    output = flat(init_on_port(jupyter_prefix, port))
    assert f"Open: https://{PUBLIC_NAME}:{port}/" in output
    assert "`jupyter-bootstrap info`" in output
    assert "Import" not in output  # the long instructions are info's, not init's


def test_info_without_metadata_leaves_placeholders_and_says_what_they_are(
    fake: FakeSystemd, jupyter_prefix: Path, port: int, one_interface: None
) -> None:
    init_on_port(jupyter_prefix, port)
    output = flat(invoke("info").output)
    assert f"https://{PRIVATE_IP}:{port}/" in output  # an address of the machine, at least
    assert "scp -i KEY.pem " in output and "@HOST:jupyter.crt ." in output
    assert "HOST: the instance's Public IPv4 DNS" in output


def test_info_json_matches_the_text_and_its_schema(set_up: Path, home: Path, port: int) -> None:
    result = invoke("info", "--json")
    assert result.exit_code == 0
    document = json.loads(result.output)
    assert (document["ok"], document["exit_code"], document["error"]) == (True, 0, None)
    assert document["url"] == f"https://{PUBLIC_NAME}:{port}/"
    assert document["public"] == {"hostname": PUBLIC_NAME, "ipv4": PUBLIC_IP, "ipv6": None}
    certificate = document["certificate"]
    assert certificate["fingerprint_sha256"] == served_fingerprint(home)
    assert certificate["kind"] == "self-signed" and certificate["trust_needed"] is True
    assert {PUBLIC_NAME, PUBLIC_IP, "localhost", "127.0.0.1"} <= set(certificate["names"])
    rules = document["security_group"]["inbound_rules"]
    assert {"type": "Custom TCP", "protocol": "TCP", "port": port, "source": "My IP",
            "why": "Jupyter over HTTPS"} in rules  # fmt: skip
    assert document["tunnel"] is None
    assert (
        document["trust"]["copy"]["scp"]
        == f"scp -i KEY.pem {home.owner()}@{PUBLIC_NAME}:jupyter.crt ."
    )
    assert {step["system"] for step in document["trust"]["import"]} >= {
        "windows",
        "macos",
        "firefox",
    }
    text = flat(invoke("info").output)
    for command in (document["trust"]["export"], document["trust"]["copy"]["pscp"]):
        assert command in text


def test_docs_describe_every_info_json_key(set_up: Path) -> None:
    document = json.loads(invoke("info", "--json").output)
    schema = (REPO / "docs" / "info-json.md").read_text()
    keys: set[str] = set(document)
    for value in document.values():
        if isinstance(value, dict):
            keys |= set(value)
    keys |= set(document["trust"]["import"][0]) | set(
        document["security_group"]["inbound_rules"][0]
    )
    missing = sorted(key for key in keys if f"`{key}`" not in schema)
    assert not missing, f"docs/info-json.md does not describe {missing}"


# -- before init, and other bad input -----------------------------------------------------------


def test_info_before_init_says_so_with_exit_2(home: Path) -> None:
    result = invoke("info")
    assert result.exit_code == 2
    assert "not set up" in result.output and "jupyter-bootstrap init" in result.output
    assert "Traceback" not in result.output


def test_info_json_is_json_even_on_error(home: Path) -> None:
    result = invoke("info", "--json")
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert (document["ok"], document["exit_code"]) == (False, 2)
    assert "not set up" in document["error"]["message"]
    assert "jupyter-bootstrap init" in document["error"]["hint"]
    assert "not set up" in result.stderr  # the usual line, too
