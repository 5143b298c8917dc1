"""Which installer, and the sha256 it must have: pinned, given, or read from the publisher's
own listing (an index page, or `<asset>.sha256`) on a loopback server. Never none."""

from __future__ import annotations

import pytest

from jupyter_bootstrap import conda_installers as ci
from jupyter_bootstrap.conda_index_page import parse_index
from jupyter_bootstrap.download import fetch_text
from jupyter_bootstrap.errors import StepFailed, UserError
from tests.support.fake_installer import index_page
from tests.support.installer_server import Behaviour, InstallerServer

HASH_A = "a" * 64
HASH_B = "0123456789abcdef" * 4


def no_network(url: str) -> str:
    raise AssertionError(f"fetched {url} although the hash was known")


# --------------------------------------------------------------------------- choosing


def test_default_anaconda_on_x86_64_is_pinned_to_the_published_hash() -> None:
    installer = ci.choose("anaconda", "x86_64", {})
    assert installer.url == (
        "https://repo.anaconda.com/archive/Anaconda3-2024.10-1-Linux-x86_64.sh"
    )
    # Anaconda's published hash for that file.
    pinned = "3ba0a298155c32fbfd80cbc238298560bf69a2df511783054adfc151b76d80d8"
    assert installer.sha256 == pinned
    assert installer.hash_url is None
    assert ci.find_sha256(installer, no_network) == installer.sha256


def test_unpinned_installers_name_where_the_publisher_lists_the_hash() -> None:
    arm = ci.choose("anaconda", "aarch64", {})
    assert arm.filename == "Anaconda3-2024.10-1-Linux-aarch64.sh"
    assert (arm.sha256, arm.hash_url) == (None, "https://repo.anaconda.com/archive/")
    mini = ci.choose("miniconda", "x86_64", {})
    assert mini.url == "https://repo.anaconda.com/miniconda/Miniconda3-latest-Linux-x86_64.sh"
    assert mini.hash_url == "https://repo.anaconda.com/miniconda/"
    forge = ci.choose("miniforge", "aarch64", {})
    assert forge.url == (
        "https://github.com/conda-forge/miniforge/releases/latest/download/"
        "Miniforge3-Linux-aarch64.sh"
    )
    assert forge.hash_url == forge.url + ".sha256"


def test_a_pinned_hash_holds_on_a_mirror_too() -> None:
    env = {"JUPYTER_BOOTSTRAP_ANACONDA_ARCHIVE_URL": "http://mirror.example/anaconda"}
    installer = ci.choose("anaconda", "x86_64", env)
    assert installer.url == "http://mirror.example/anaconda/Anaconda3-2024.10-1-Linux-x86_64.sh"
    assert installer.sha256 == ci.PINNED_SHA256[installer.filename]


def test_every_publisher_url_can_be_pointed_elsewhere() -> None:
    env = {
        "JUPYTER_BOOTSTRAP_MINICONDA_URL": "http://127.0.0.1:1/m/",
        "JUPYTER_BOOTSTRAP_MINIFORGE_URL": "http://127.0.0.1:1/f",
    }
    assert ci.choose("miniconda", "x86_64", env).hash_url == "http://127.0.0.1:1/m/"
    forge = ci.choose("miniforge", "x86_64", env)
    assert forge.url == "http://127.0.0.1:1/f/Miniforge3-Linux-x86_64.sh"
    assert forge.hash_url == "http://127.0.0.1:1/f/Miniforge3-Linux-x86_64.sh.sha256"


def test_a_given_url_needs_its_hash() -> None:
    given = ci.choose("anaconda", "x86_64", {}, "https://x.example/a/My-Installer.sh", HASH_A)
    assert (given.filename, given.sha256, given.hash_url) == ("My-Installer.sh", HASH_A, None)
    with pytest.raises(UserError, match="without its sha256"):
        ci.choose("anaconda", "x86_64", {}, "https://x.example/a.sh", None)


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://x.example/dl/Miniforge3-Linux-x86_64.sh?x=1", "Miniforge3-Linux-x86_64.sh"),
        ("https://x.example/download?id=3&name=../../etc", "download"),
        ("https://x.example/", f"installer-{HASH_B[:16]}.sh"),
        ("https://x.example/..", f"installer-{HASH_B[:16]}.sh"),
        ("https://x.example/a%2F..%2Fb", "b"),  # decoded, then only the last part
    ],
)
def test_cache_names_are_plain_file_names(url: str, name: str) -> None:
    assert ci.cache_name(url, HASH_B) == name


def test_the_distribution_an_installer_name_announces() -> None:
    assert ci.distribution_of("Anaconda3-2024.10-1-Linux-x86_64.sh") == "anaconda"
    assert ci.distribution_of("Miniconda3-py312_24.9.2-0-Linux-x86_64.sh") == "miniconda"
    assert ci.distribution_of("Miniforge3-Linux-aarch64.sh") == "miniforge"
    assert ci.distribution_of("installer-0123.sh") is None


# --------------------------------------------------------------------------- parsing


ARCHIVE_EXCERPT = """<html><body><h1>Anaconda Installers</h1>
<table>
    <tr>
      <th>Filename</th>
      <th>Size</th>
      <th>Last Modified</th>
      <th>SHA256</th>
    </tr>
    <tr>
      <td><a href="Anaconda3-2024.10-1-Windows-x86_64.exe"
        >Anaconda3-2024.10-1-Windows-x86_64.exe</a></td>
      <td class="s">912.3M</td>
      <td>2024-10-23 10:02:03</td>
      <td>bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb</td>
    </tr>
    <tr>
      <td><a href="Anaconda3-2024.10-1-Linux-aarch64.sh">
        Anaconda3-2024.10-1-Linux-aarch64.sh</a></td>
      <td class="s">798.5M</td>
      <td>2024-10-23 10:02:02</td>
      <td>AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA</td>
    </tr>
    <tr><td><a href="notes.txt">notes.txt</a></td><td>1K</td><td>2024</td><td>n/a</td></tr>
</table></body></html>
"""


def test_index_page_maps_each_file_to_its_sha256() -> None:
    hashes = parse_index(ARCHIVE_EXCERPT)
    assert hashes == {
        "Anaconda3-2024.10-1-Windows-x86_64.exe": "b" * 64,
        "Anaconda3-2024.10-1-Linux-aarch64.sh": "a" * 64,  # lower-cased
    }


def test_index_page_finds_the_sha256_column_by_its_header() -> None:
    # Another hash-like column first (an MD5 would be shorter; a second SHA-256 is not).
    page = (
        "<table><tr><th>SHA256</th><th>Name</th><th>Other</th></tr>"
        f"<tr><td>{HASH_A}</td><td><a href='/x/f.sh'>f.sh</a></td><td>{HASH_B}</td></tr>"
        "</table>"
    )
    assert parse_index(page) == {"f.sh": HASH_A}


def test_index_page_without_a_header_takes_the_hash_looking_cell() -> None:
    page = f"<table><tr><td>g.sh</td><td>12M</td><td>{HASH_B}</td></tr></table>"
    assert parse_index(page) == {"g.sh": HASH_B}


def test_our_test_index_page_parses_like_the_real_one() -> None:
    assert parse_index(index_page({"h.sh": HASH_A})) == {"h.sh": HASH_A}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"{HASH_A}  Miniforge3-Linux-x86_64.sh\n", HASH_A),
        (f"{HASH_A.upper()} *Miniforge3-Linux-x86_64.sh", HASH_A),
        (f"{HASH_A}\n", HASH_A),
        (f"{HASH_A}  Miniforge3-Linux-aarch64.sh\n", None),  # another file's hash
        ("<html>Not Found</html>", None),
        ("", None),
    ],
)
def test_sha256_sidecar_file(text: str, expected: str | None) -> None:
    assert ci.parse_sha256_file(text, "Miniforge3-Linux-x86_64.sh") == expected


# --------------------------------------------------------------------------- fetching


def test_hash_read_from_the_index_page(installer_server: InstallerServer) -> None:
    env = {"JUPYTER_BOOTSTRAP_MINICONDA_URL": installer_server.url("/miniconda/")}
    installer = ci.choose("miniconda", "x86_64", env)
    installer_server.add("/miniconda/", index_page({installer.filename: HASH_B}).encode())
    assert ci.find_sha256(installer, fetch_text) == HASH_B


def test_hash_read_from_the_sidecar_file(installer_server: InstallerServer) -> None:
    env = {"JUPYTER_BOOTSTRAP_MINIFORGE_URL": installer_server.url("/forge/")}
    installer = ci.choose("miniforge", "x86_64", env)
    installer_server.add(
        f"/forge/{installer.filename}.sha256", f"{HASH_A}  {installer.filename}\n".encode()
    )
    assert ci.find_sha256(installer, fetch_text) == HASH_A


def test_no_listed_hash_fails_closed(installer_server: InstallerServer) -> None:
    env = {"JUPYTER_BOOTSTRAP_MINICONDA_URL": installer_server.url("/miniconda/")}
    installer = ci.choose("miniconda", "x86_64", env)
    installer_server.add("/miniconda/", index_page({"Miniconda3-other.sh": HASH_A}).encode())
    with pytest.raises(StepFailed, match="refusing to install an unverified file") as raised:
        ci.find_sha256(installer, fetch_text)
    assert "lists no sha256" in raised.value.message
    assert raised.value.hint and "--installer-sha256" in raised.value.hint


def test_unreachable_hash_listing_fails_closed(installer_server: InstallerServer) -> None:
    env = {"JUPYTER_BOOTSTRAP_MINIFORGE_URL": installer_server.url("/forge/")}
    installer = ci.choose("miniforge", "x86_64", env)  # nothing served: 404
    with pytest.raises(StepFailed, match="refusing to install an unverified file") as raised:
        ci.find_sha256(installer, fetch_text)
    assert "404" in raised.value.message


def test_a_server_error_on_the_listing_is_retried_then_fails_closed(
    installer_server: InstallerServer,
) -> None:
    env = {"JUPYTER_BOOTSTRAP_MINICONDA_URL": installer_server.url("/m/")}
    installer = ci.choose("miniconda", "x86_64", env)
    installer_server.add("/m/", b"", Behaviour(status=503))

    def fetch(url: str) -> str:
        return fetch_text(url, retries=1, backoff=0.01)

    with pytest.raises(StepFailed, match="unverified"):
        ci.find_sha256(installer, fetch)
    assert len(installer_server.requests("/m/", method="GET")) == 2
