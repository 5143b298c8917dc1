"""The decisions of acme_order and the words of acme_errors, as data: which profile an order
asks for, which names are accepted, how the CA's messages become a person's next step."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Optional

import pytest
from acme import messages

from jupyter_bootstrap import certs
from jupyter_bootstrap.acme_errors import (
    AcmeProblem,
    ChallengePortInUse,
    ChallengePortUnavailable,
    PortProblem,
    ValidationFailed,
    problem_error,
    validation_problem,
)
from jupyter_bootstrap.acme_network import network_reason, trust_store
from jupyter_bootstrap.acme_order import (
    DEFAULT_DIRECTORY_URL,
    choose_profile,
    order_certificate,
    split_names,
)
from jupyter_bootstrap.errors import StepFailed, UserError

LETS_ENCRYPT_META: dict[str, Any] = {
    "caaIdentities": ["letsencrypt.org"],
    "profiles": {
        "classic": "https://letsencrypt.org/docs/profiles#classic",
        "shortlived": "https://letsencrypt.org/docs/profiles#shortlived",
        "tlsserver": "https://letsencrypt.org/docs/profiles#tlsserver",
    },
    "termsOfService": "https://letsencrypt.org/documents/LE-SA-v1.5-February-24-2025.pdf",
    "website": "https://letsencrypt.org",
}
PEBBLE_META: dict[str, Any] = {
    "externalAccountRequired": False,
    "termsOfService": "data:text/plain,Do%20what%20thou%20wilt",
}


@pytest.mark.parametrize(
    ("meta", "names", "profile"),
    [
        (LETS_ENCRYPT_META, ["3.8.1.2"], "shortlived"),
        (LETS_ENCRYPT_META, ["ec2-3-8-1-2.compute.example", "3.8.1.2"], "shortlived"),
        (LETS_ENCRYPT_META, ["2001:db8::1"], "shortlived"),
        (LETS_ENCRYPT_META, ["jupyter.example.org"], None),  # a name alone: the CA's default
        (PEBBLE_META, ["127.0.0.1"], None),  # Pebble 2.4 advertises no profiles
        ({}, ["127.0.0.1"], None),
        ({"profiles": {"classic": "x"}}, ["127.0.0.1"], None),  # no shortlived on offer
        ({"profiles": {}}, ["127.0.0.1"], None),
    ],
)
def test_the_profile_asked_for(
    meta: dict[str, Any], names: list[str], profile: Optional[str]
) -> None:
    directory = messages.Directory.from_json(
        {"newNonce": "n", "newAccount": "a", "newOrder": "o", "meta": dict(meta)}
    )
    _, ips = split_names(names)

    assert choose_profile(directory.meta, ips) == profile


def test_names_are_split_normalised_and_deduplicated() -> None:
    dns, ips = split_names(["Jupyter.Example.org.", "3.8.1.2", "jupyter.example.org", "::1"])

    assert dns == ["jupyter.example.org"]
    assert ips == [ipaddress.ip_address("3.8.1.2"), ipaddress.ip_address("::1")]


@pytest.mark.parametrize("names", [[], ["*.example.org"], ["https://x.example.org/"], ["a b"]])
def test_names_that_cannot_be_in_a_certificate_are_user_errors(names: list[str]) -> None:
    with pytest.raises(UserError):
        split_names(names)


@pytest.fixture
def key_pem() -> bytes:
    key, _ = certs.self_signed(["x"], "ec", certs.utc_now())
    return key


@pytest.mark.parametrize(
    ("url", "key", "bundle"),
    [
        ("http://127.0.0.1:1/dir", None, None),  # ACME is HTTPS only
        ("acme-v02.api.letsencrypt.org/directory", None, None),
        ("https://127.0.0.1:1/dir", b"not a key", None),
        ("https://127.0.0.1:1/dir", None, "/nonexistent/ca.pem"),
    ],
)
def test_bad_input_is_refused_before_any_request(
    url: str, key: Optional[bytes], bundle: Optional[str], key_pem: bytes, tmp_path: Path
) -> None:
    with pytest.raises(UserError) as raised:
        order_certificate(url, ["127.0.0.1"], tmp_path / "acme", key or key_pem, ca_bundle=bundle)

    assert raised.value.hint
    assert not (tmp_path / "acme").exists()


def test_only_known_challenges_can_be_asked_for(key_pem: bytes, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        order_certificate(
            "https://127.0.0.1:1/dir", ["127.0.0.1"], tmp_path, key_pem, challenges=("dns-01",)
        )


def test_the_default_directory_is_lets_encrypt_production() -> None:
    assert DEFAULT_DIRECTORY_URL == "https://acme-v02.api.letsencrypt.org/directory"


def test_the_trust_store_never_comes_from_requests_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    planted = tmp_path / "planted.pem"
    planted.write_text("")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(planted))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(planted))

    assert trust_store(None) != str(planted)
    assert trust_store(str(planted)) == str(planted)


def test_network_failures_are_told_in_a_few_words() -> None:
    import requests

    refused = requests.ConnectionError(
        "HTTPSConnectionPool(host='127.0.0.1', port=9): Max retries exceeded with url: /dir "
        "(Caused by NewConnectionError('<urllib3.connection.HTTPSConnection object at 0x7f>: "
        "Failed to establish a new connection: [Errno 111] Connection refused'))"
    )
    assert network_reason(refused) == "connection refused"
    assert network_reason(requests.ConnectTimeout("x")) == "no answer (timed out)"


def error(code: str, detail: str, **more: Any) -> messages.Error:
    """A problem document as the CA sends it."""
    document = messages.Error.from_json(
        {"type": f"urn:ietf:params:acme:error:{code}", "detail": detail, "status": 400, **more}
    )
    assert isinstance(document, messages.Error)
    return document


@pytest.mark.parametrize(
    ("challenge", "detail", "port", "unreachable"),
    [
        # Pebble 2.4
        (
            "http-01",
            'Get "http://127.0.0.1:5002/.well-known/acme-challenge/abc": dial tcp '
            "127.0.0.1:5002: connect: connection refused",
            5002,
            True,
        ),
        (
            "tls-alpn-01",
            "Failed to connect to 127.0.0.1:5001 for the tls-alpn-01 challenge",
            5001,
            True,
        ),
        # Let's Encrypt names no port: the challenge's own.
        ("http-01", "3.8.1.2: Timeout during connect (likely firewall problem)", 80, True),
        ("tls-alpn-01", "3.8.1.2: Connection refused", 443, True),
        (
            "http-01",
            "3.8.1.2: Invalid response from http://3.8.1.2/.well-known/acme-challenge/x: 404",
            80,
            False,
        ),
        (
            "tls-alpn-01",
            "Incorrect validation certificate for tls-alpn-01 challenge. Requested "
            "3.8.1.2 from 3.8.1.2:443. Received 1 certificate(s), first certificate had "
            'names "example.org"',
            443,
            False,
        ),
    ],
)
def test_the_port_the_ca_tried_is_read_from_its_message(
    challenge: str, detail: str, port: int, unreachable: bool
) -> None:
    identifier = "127.0.0.1" if "127.0.0.1" in detail else "3.8.1.2"
    default = 443 if challenge == "tls-alpn-01" else 80

    # Pebble types every failure "unauthorized": the words tell an unreachable port.
    problem = validation_problem(challenge, identifier, error("unauthorized", detail), default)

    assert problem.port == port
    assert problem.unreachable is unreachable
    assert problem.detail == detail


def test_an_unreachable_machine_gets_the_firewall_rule_to_add() -> None:
    problems = [
        validation_problem("tls-alpn-01", "3.8.1.2", error("connection", "Timeout"), 443),
        validation_problem("http-01", "3.8.1.2", error("connection", "Timeout"), 80),
    ]

    failed = ValidationFailed(problems)

    assert failed.message == (
        "the CA could not reach this machine at 3.8.1.2 on TCP port 443 (tls-alpn-01) "
        "or 3.8.1.2 on TCP port 80 (http-01)"
    )
    assert failed.hint is not None
    assert "allow inbound TCP 443 and 80 from anywhere (0.0.0.0/0" in failed.hint
    assert "the CA connects from its own addresses, not yours" in failed.hint
    assert isinstance(failed, StepFailed)


def test_a_wrong_answer_is_not_a_firewall_problem() -> None:
    wrong = validation_problem(
        "http-01", "3.8.1.2", error("unauthorized", "The key authorization did not match"), 80
    )

    failed = ValidationFailed([wrong], skipped=[PortProblem("tls-alpn-01", 443, "in use")])

    assert "reached 3.8.1.2 on TCP port 80 (http-01)" in failed.message
    assert failed.hint and "firewall" not in failed.hint
    assert failed.details and "not tried: TCP port 443 (tls-alpn-01): in use" in failed.details


@pytest.mark.parametrize(
    ("code", "hint_says"),
    [
        ("rateLimited", "wait"),
        ("rejectedIdentifier", "domain name of your own"),
        ("badNonce", "run again"),
        ("serverInternal", "run again later"),
    ],
)
def test_problem_documents_are_quoted_with_a_hint(code: str, hint_says: str) -> None:
    detail = f"the server's own words about {code}"

    problem = problem_error(error(code, detail), "acme-v02.api.letsencrypt.org")

    assert isinstance(problem, AcmeProblem)
    assert problem.code == code
    assert problem.message == (f"the ACME server acme-v02.api.letsencrypt.org refused: {detail}")
    assert problem.hint and hint_says in problem.hint


def test_subproblems_are_kept_in_the_details() -> None:
    document = error(
        "rejectedIdentifier",
        "Error creating new order :: Cannot issue for 2 identifiers",
        subproblems=[
            {
                "type": "urn:ietf:params:acme:error:rejectedIdentifier",
                "detail": "forbidden by policy",
                "identifier": {"type": "dns", "value": "x.amazonaws.com"},
            }
        ],
    )

    problem = problem_error(document, "ca")

    assert problem.details == "x.amazonaws.com: forbidden by policy"


def test_busy_ports_are_their_own_type() -> None:
    busy = ChallengePortUnavailable.of(
        [PortProblem("tls-alpn-01", 443, "in use"), PortProblem("http-01", 80, "in use")]
    )
    denied = ChallengePortUnavailable.of([PortProblem("http-01", 80, "permission denied")])

    assert isinstance(busy, ChallengePortInUse)
    assert busy.ports == (443, 80)
    assert busy.message == "cannot answer the CA's check: TCP port 443 and 80 already in use"
    assert not isinstance(denied, ChallengePortInUse)
    assert denied.hint and "CAP_NET_BIND_SERVICE" in denied.hint
