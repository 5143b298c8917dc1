"""Which conda installer to fetch, and the sha256 it must have.

The hash is pinned here, given by the user (--installer-sha256) or read from the publisher's
own listing (Anaconda's and Miniconda's index pages, Miniforge's `<asset>.sha256`). When
none of these yields one the install stops: an unverified installer is never run.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from typing import Callable, NamedTuple, Optional

from jupyter_bootstrap.conda_publishers import PUBLISHERS
from jupyter_bootstrap.errors import StepFailed, UserError

MiB = 1024 * 1024
GiB = 1024 * MiB

# The default distribution, at a version whose installers' hashes are pinned below.
ANACONDA_VERSION = "2024.10-1"

# Installers are immutable once published under a versioned name, so a pinned hash holds
# for that name on any mirror. "latest" names change content and are never pinned.
PINNED_SHA256 = {
    "Anaconda3-2024.10-1-Linux-x86_64.sh": (
        "3ba0a298155c32fbfd80cbc238298560bf69a2df511783054adfc151b76d80d8"
    ),
    "Anaconda3-2023.09-0-Linux-x86_64.sh": (
        "6c8a4abb36fbb711dc055b7049a23bbfd61d356de9468b41c5140f8a11abd851"
    ),
    "Anaconda3-2023.09-0-Linux-aarch64.sh": (
        "69ee26361c1ec974199bce5c0369e3e9a71541de7979d2b9cfa4af556d1ae0ea"
    ),
}


# For the free-space check: the installer when the server does not say its size, and the
# installed prefix (Anaconda asks for 5 GB in all; the small ones grow with Jupyter).
DOWNLOAD_ESTIMATE = {"anaconda": 1100 * MiB, "miniconda": 160 * MiB, "miniforge": 110 * MiB}
INSTALL_ESTIMATE = {"anaconda": 4 * GiB, "miniconda": 800 * MiB, "miniforge": 800 * MiB}

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,200}")


class Installer(NamedTuple):
    distribution: str
    url: str
    filename: str  # the name in the download cache
    sha256: Optional[str]  # known without asking the network (pinned or given)
    hash_url: Optional[str]  # where the publisher lists the hash, when not known

    @property
    def download_estimate(self) -> int:
        return DOWNLOAD_ESTIMATE.get(self.distribution, DOWNLOAD_ESTIMATE["anaconda"])

    @property
    def install_estimate(self) -> int:
        return INSTALL_ESTIMATE.get(self.distribution, INSTALL_ESTIMATE["anaconda"])


def default_filename(distribution: str, arch: str) -> str:
    if distribution == "anaconda":
        return f"Anaconda3-{ANACONDA_VERSION}-Linux-{arch}.sh"
    if distribution == "miniconda":
        return f"Miniconda3-latest-Linux-{arch}.sh"
    return f"Miniforge3-Linux-{arch}.sh"


def base_url(distribution: str, environ: Mapping[str, str]) -> str:
    publisher = PUBLISHERS[distribution]
    url = environ.get(publisher.env) or publisher.default_url
    return url if url.endswith("/") else url + "/"


def choose(
    distribution: str,
    arch: str,
    environ: Mapping[str, str],
    url: Optional[str] = None,
    sha256: Optional[str] = None,
) -> Installer:
    """The installer for this distribution and machine, or the user's own (`url`)."""
    if url:
        if not sha256:
            raise UserError(
                "an installer URL is set without its sha256: refusing to run an unverified file",
                hint="pass --installer-sha256 HEX together with --installer-url URL",
            )
        try:
            digest = normalise_sha256(sha256)
        except ValueError as error:
            raise UserError(
                f"{error}: refusing to run an unverified installer",
                hint="pass the sha256 the publisher lists for that file: --installer-sha256 HEX",
            ) from None
        return Installer(distribution, url, cache_name(url, digest), digest, None)
    filename = default_filename(distribution, arch)
    location = base_url(distribution, environ) + filename
    pinned = PINNED_SHA256.get(filename)
    if pinned:
        return Installer(distribution, location, filename, pinned, None)
    if PUBLISHERS[distribution].sidecar_hashes:
        return Installer(distribution, location, filename, None, location + ".sha256")
    return Installer(distribution, location, filename, None, base_url(distribution, environ))


def cache_name(url: str, sha256: str) -> str:
    """The URL's file name when it is a plain one, else a name made from the hash (which
    must be a valid one: ValueError otherwise, as from `normalise_sha256`)."""
    # Imported here: only a download needs it, and urllib.parse (with ipaddress) is a
    # noticeable part of what importing this module would otherwise cost.
    from urllib.parse import unquote, urlsplit

    name = posixpath.basename(unquote(urlsplit(url).path))
    if _SAFE_NAME.fullmatch(name):
        return name
    return f"installer-{normalise_sha256(sha256)[:16]}.sh"


def distribution_of(filename: str) -> Optional[str]:
    """The distribution an installer's file name announces (for --installer-url)."""
    lowered = filename.lower()
    for prefix, distribution in (
        ("anaconda", "anaconda"),
        ("miniconda", "miniconda"),
        ("miniforge", "miniforge"),
        ("mambaforge", "miniforge"),
    ):
        if lowered.startswith(prefix):
            return distribution
    return None


def is_sha256(text: str) -> bool:
    """True when `text` is 64 hex digits in either case, surrounding whitespace allowed."""
    return bool(_SHA256.fullmatch(text.strip()))


def normalise_sha256(value: object) -> str:
    """The one spelling every comparison uses: `value` stripped and lower-cased.

    Raises ValueError, naming the value, for anything that is not 64 hex digits after the
    strip: None, an empty or short string, other characters, a non-string. Callers turn that
    into a UserError or StepFailed; there is no "no hash" result to fall back on, because an
    installer is never run unverified.
    """
    text = value.strip() if isinstance(value, str) else ""
    # Checked before lower(): only ASCII hex may pass, whatever lower() does to other text.
    if not _SHA256.fullmatch(text):
        shown = repr(value)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        raise ValueError(f"{shown} is not a sha256 (64 hex digits)")
    return text.lower()


TextFetcher = Callable[[str], str]


def find_sha256(installer: Installer, fetch: TextFetcher) -> str:
    """The hash the download must match; StepFailed (fail closed) when none can be had."""
    if installer.sha256:
        try:
            return normalise_sha256(installer.sha256)
        except ValueError as error:
            raise _no_hash(installer, str(error)) from error
    if installer.hash_url is None:  # choose() always sets one of the two
        raise StepFailed(f"no sha256 known for {installer.filename}")
    try:
        text = fetch(installer.hash_url)
    except StepFailed as error:
        why = f"could not read {installer.hash_url} ({error.message})"
        raise _no_hash(installer, why) from error
    if installer.hash_url.endswith(".sha256"):
        found = parse_sha256_file(text, installer.filename)
    else:
        from jupyter_bootstrap.conda_index_page import parse_index

        found = parse_index(text).get(installer.filename)
    if found is None:
        raise _no_hash(installer, f"{installer.hash_url} lists no sha256 for it")
    return found


def _no_hash(installer: Installer, why: str) -> StepFailed:
    return StepFailed(
        f"no sha256 for {installer.filename}: {why}; refusing to install an unverified file",
        hint="run again later, or pass --installer-url URL --installer-sha256 HEX with a "
        "hash from a source you trust",
    )


def parse_sha256_file(text: str, filename: str) -> Optional[str]:
    """`<hex>  <name>` (sha256sum's format) or a bare `<hex>`. A line naming another file
    is not a hash for ours."""
    for line in text.splitlines():
        parts = line.split()
        if not parts or not is_sha256(parts[0]):
            continue
        named = posixpath.basename(parts[1].lstrip("*")) if len(parts) > 1 else filename
        if named == filename:
            return normalise_sha256(parts[0])
    return None
