"""An aarch64 (arm64, AWS Graviton) instance, simulated on whatever machine runs the tests:
`platform.machine()` is what the host step reads, and the conda step picks the installer
for the architecture the host step found. The installers are the loopback site's fakes
under the aarch64 names; their hashes come from where each publisher lists them."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from jupyter_bootstrap.conda_installers import PINNED_SHA256, default_filename
from tests.support.cli import flat, init_no_service, without_spaces
from tests.support.fake_installer import InstallerSite, index_page


@pytest.fixture
def arm64(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform, "machine", lambda: "aarch64")


def test_miniforge_for_aarch64_is_the_aarch64_installer_with_its_published_hash(
    site: InstallerSite, arm64: None
) -> None:
    name = default_filename("miniforge", "aarch64")
    assert name == "Miniforge3-Linux-aarch64.sh"
    _, digest, _ = site.publish(f"/miniforge/{name}", distribution="miniforge")
    site.server.add(f"/miniforge/{name}.sha256", f"{digest}  {name}\n".encode())
    prefix = site.prefix("miniforge3")
    result = init_no_service("--distribution", "miniforge", "--prefix", str(prefix))
    assert result.exit_code == 0, result.output
    assert "host ok" in flat(result.output) and ", aarch64, user " in result.output
    assert "conda changed installed Miniforge" in flat(result.output)
    assert "sha256 verified" in flat(result.output)
    got = [r.path for r in site.server.requests(method="GET")]
    assert got == [f"/miniforge/{name}.sha256", f"/miniforge/{name}"]
    assert site.runs() == [f"-b -p {prefix}"]


def test_anaconda_for_aarch64_takes_its_hash_from_the_archive_index(
    site: InstallerSite, arm64: None
) -> None:
    name = default_filename("anaconda", "aarch64")
    assert name not in PINNED_SHA256  # not pinned: read from the publisher's own listing
    _, digest, _ = site.publish(f"/archive/{name}", distribution="anaconda")
    x86 = default_filename("anaconda", "x86_64")
    site.server.add("/archive/", index_page({x86: "b" * 64, name: digest}).encode())
    prefix = site.prefix("anaconda3")
    result = init_no_service("--prefix", str(prefix), "--accept-anaconda-tos")
    assert result.exit_code == 0, result.output
    assert "sha256 verified" in flat(result.output)
    assert [r.path for r in site.server.requests(method="GET")] == ["/archive/", f"/archive/{name}"]


def test_an_aarch64_hash_missing_from_the_index_means_no_download(
    site: InstallerSite, arm64: None
) -> None:
    """The index lists only the x86_64 file: the aarch64 one is never run unverified."""
    name = default_filename("anaconda", "aarch64")
    site.publish(f"/archive/{name}", distribution="anaconda")
    x86 = default_filename("anaconda", "x86_64")
    site.server.add("/archive/", index_page({x86: "b" * 64}).encode())
    result = init_no_service("--prefix", str(site.prefix("anaconda3")), "--accept-anaconda-tos")
    assert result.exit_code == 1, result.output
    assert without_spaces(f"no sha256 for {name}") in without_spaces(result.output)
    assert site.gets() == 0 and site.runs() == []


@pytest.mark.parametrize("machine", ["armv7l", "i686", "ppc64le"])
def test_other_architectures_are_refused_before_anything_is_fetched(
    site: InstallerSite, monkeypatch: pytest.MonkeyPatch, machine: str, home: Path
) -> None:
    monkeypatch.setattr(platform, "machine", lambda: machine)
    result = init_no_service("--distribution", "miniforge", "--prefix", str(site.prefix()))
    assert result.exit_code == 2, result.output
    assert f"processor architecture {machine} is not supported" in flat(result.output)
    assert site.server.requests() == []
