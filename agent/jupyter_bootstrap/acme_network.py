"""Talking to an ACME CA over HTTPS: acme's own network client, with the trust we choose and
patience for refused nonces, and the CA's directory fetched with errors a person can act on.

Trust: requests replaces `verify=True` with REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE from the
environment; only a path is taken as given. So a path is always passed: the caller's CA bundle
(a proxy that inspects TLS, or the tests' Pebble), else OpenSSL's default trust store, the one
curl uses on the machine, with requests' own bundle (certifi) as the last resort."""

from __future__ import annotations

import logging
import re
import ssl
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlsplit

import requests
import requests.utils
from acme import client, errors, messages
from josepy.errors import DeserializationError
from josepy.jwa import JWASignature
from josepy.jwk import JWK

from jupyter_bootstrap import __version__
from jupyter_bootstrap.acme_errors import (
    DirectoryUnreachable,
    DirectoryUntrusted,
    NotAnAcmeDirectory,
)
from jupyter_bootstrap.errors import UserError

log = logging.getLogger("jupyter_bootstrap")

# Each try is acme's post, which itself retries a badNonce once: up to ten requests. Pebble
# refuses 5 % of good nonces on purpose, Let's Encrypt a few when its nonce store rotates.
NONCE_ATTEMPTS = 5
REQUEST_TIMEOUT = 30  # seconds for one HTTP request
USER_AGENT = f"jupyter-bootstrap/{__version__} acme-python"
DIRECTORY_RESOURCES = ("newNonce", "newAccount", "newOrder")


def trust_store(ca_bundle: Optional[str]) -> str:
    """The path requests verifies the CA's TLS certificate with."""
    if ca_bundle is not None:
        if not Path(ca_bundle).is_file():
            raise UserError(
                f"CA bundle {ca_bundle} not found",
                hint="give the path of a PEM file holding the CA certificate(s) to trust",
            )
        return ca_bundle
    defaults = ssl.get_default_verify_paths()
    for candidate in (defaults.cafile, defaults.capath):
        if candidate and Path(candidate).exists():
            return candidate
    return requests.utils.DEFAULT_CA_BUNDLE_PATH  # certifi's, which requests ships with


class AcmeNetwork(client.ClientNetwork):
    """acme's ClientNetwork, verifying with `verify` and retrying refused nonces."""

    def __init__(
        self,
        key: Optional[JWK],
        alg: JWASignature,
        verify: str,
        timeout: int = REQUEST_TIMEOUT,
    ) -> None:
        super().__init__(key, alg=alg, user_agent=USER_AGENT, timeout=timeout)
        # acme hands `verify_ssl` to requests' `verify=` unchanged, and that takes a path;
        # acme only declares it a bool.
        self.verify_ssl = verify  # type: ignore[assignment]

    def post(self, *args: Any, **kwargs: Any) -> requests.Response:
        # A badNonce means the CA refused the request before acting on it: sending it again
        # (with a fresh nonce, which acme fetches when it has none left) is safe.
        attempt = 1
        while True:
            try:
                return super().post(*args, **kwargs)
            except messages.Error as error:
                if error.code != "badNonce" or attempt >= NONCE_ATTEMPTS:
                    raise
                log.debug(
                    "ACME: nonce refused (try %d of %d), sending again", attempt, NONCE_ATTEMPTS
                )
                attempt += 1


def network_reason(error: requests.RequestException) -> str:
    """A few words for why a request failed, instead of urllib3's paragraph."""
    if isinstance(error, requests.Timeout):
        return "no answer (timed out)"
    found = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", str(error))
    if found:
        return found.group(1).strip().lower()
    if isinstance(error, requests.ConnectionError):
        return "the connection failed"
    return type(error).__name__


def server_name(url: str) -> str:
    return urlsplit(url).netloc or url


def fetch_directory(url: str, net: client.ClientNetwork) -> messages.Directory:
    """The CA's directory (RFC 8555 section 7.1.1), or an error naming the URL."""
    try:
        response = net.get(url)
    except requests.exceptions.SSLError:
        raise DirectoryUntrusted(url) from None
    except requests.RequestException as error:
        raise DirectoryUnreachable(url, network_reason(error)) from None
    except errors.ClientError as error:
        # acme's words for a non-JSON answer; the status says more to a person.
        answer = error.args[0] if error.args else None
        if isinstance(answer, requests.Response):
            what = f"HTTP {answer.status_code} {answer.reason}"
        else:
            what = "the answer is not JSON"
        raise NotAnAcmeDirectory(url, what) from None
    except messages.Error as error:
        raise NotAnAcmeDirectory(url, f"it answered with an error: {error}") from None
    try:
        document = response.json()
    except ValueError:
        raise NotAnAcmeDirectory(url, "the answer is not JSON") from None
    if not isinstance(document, dict):
        raise NotAnAcmeDirectory(url, "the answer is not a JSON object")
    missing = [name for name in DIRECTORY_RESOURCES if not isinstance(document.get(name), str)]
    if missing:
        raise NotAnAcmeDirectory(url, f"it names no {', '.join(missing)}")
    try:
        return messages.Directory.from_json(document)
    except DeserializationError as error:
        raise NotAnAcmeDirectory(url, f"its meta section is malformed ({error})") from None
