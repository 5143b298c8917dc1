"""The instance metadata lookup (IMDSv2) against a loopback service that speaks its
protocol: a token first, then each item with it; anything else means no public names."""

from __future__ import annotations

import pytest

from jupyter_bootstrap import public_address
from jupyter_bootstrap.public_address import PublicAddress
from tests.support import metadata_server
from tests.support.metadata_server import metadata_service
from tests.support.net import free_port


def test_the_names_come_with_a_token_over_one_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    with metadata_service(
        public_hostname="ec2-203-0-113-7.example.com", public_ipv4="203.0.113.7"
    ) as imds:
        imds.items["ipv6"] = "2001:db8::7"
        monkeypatch.setenv("JUPYTER_BOOTSTRAP_METADATA_URL", imds.url + "/")
        found = public_address.lookup()
        asked = list(imds.requests)
    assert found == PublicAddress(
        "ec2-203-0-113-7.example.com", "203.0.113.7", "2001:db8::7", answered=True
    )
    assert asked == [
        "PUT /latest/api/token",
        "GET /latest/meta-data/public-hostname",
        "GET /latest/meta-data/public-ipv4",
        "GET /latest/meta-data/ipv6",
    ]


def test_an_instance_without_a_public_address_has_no_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with metadata_service() as imds:  # every item 404, as in a private subnet
        monkeypatch.setenv("JUPYTER_BOOTSTRAP_METADATA_URL", imds.url)
        # No names, but an answer: not the same as a service that is not there.
        assert public_address.lookup() == PublicAddress(answered=True)


@pytest.mark.parametrize("setting", ["off", "none", "0", ""])
def test_turned_off_it_asks_nothing(monkeypatch: pytest.MonkeyPatch, setting: str) -> None:
    with metadata_service(public_ipv4="203.0.113.7") as imds:
        monkeypatch.setenv("JUPYTER_BOOTSTRAP_METADATA_URL", setting)
        assert public_address.lookup() == PublicAddress()
        assert imds.requests == []


def test_no_service_there_means_no_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another cloud, a laptop: nothing listens, and the run goes on without names."""
    monkeypatch.setenv("JUPYTER_BOOTSTRAP_METADATA_URL", f"http://127.0.0.1:{free_port()}")
    assert public_address.lookup() == PublicAddress()


def test_an_answer_that_cannot_be_used_means_no_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """A token that cannot go into a header, a URL whose port is no number: no traceback,
    no names (as requests' errors were before)."""
    monkeypatch.setattr(metadata_server, "TOKEN", "line\nbreak")
    with metadata_service(public_ipv4="203.0.113.7") as imds:
        monkeypatch.setenv("JUPYTER_BOOTSTRAP_METADATA_URL", imds.url)
        assert public_address.lookup() == PublicAddress()
    monkeypatch.setenv("JUPYTER_BOOTSTRAP_METADATA_URL", "http://127.0.0.1:port")
    assert public_address.lookup() == PublicAddress()


def test_a_proxy_in_the_environment_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """The service is link-local: a proxy could never reach it for us."""
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
    with metadata_service(public_ipv4="203.0.113.7") as imds:
        monkeypatch.setenv("JUPYTER_BOOTSTRAP_METADATA_URL", imds.url)
        assert public_address.lookup().ipv4 == "203.0.113.7"
