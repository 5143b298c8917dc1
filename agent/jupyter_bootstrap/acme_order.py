"""A certificate from an ACME CA (Let's Encrypt by default) for this machine's names and IP
addresses: one call that registers (or reuses) the account, orders, answers the CA's checks
and returns the issued chain. It writes nothing but the account file: what to do with the
certificate (and whether to replace a working one) is the caller's decision.

The checks are tried in order, tls-alpn-01 first (port 443, which an HTTPS server's security
group opens anyway), then http-01 (port 80). A failed check spoils the whole order, so the
next kind of check gets a fresh order; a check that could not even start (its port busy, or
not offered) leaves the order as it was, for the next kind."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple, Optional, Union
from urllib.parse import urlsplit

import requests
from acme import client, crypto_util, errors, messages
from cryptography import x509
from josepy.errors import DeserializationError
from josepy.jwk import JWK

from jupyter_bootstrap import acme_account, certs, hostnames
from jupyter_bootstrap.acme_challenges import Answer, responding
from jupyter_bootstrap.acme_directory import DEFAULT_DIRECTORY_URL as DEFAULT_DIRECTORY_URL
from jupyter_bootstrap.acme_errors import (
    AcmeFailed,
    AcmeServerUnreachable,
    AcmeTimeout,
    ChallengePortUnavailable,
    NoUsableChallenge,
    PortProblem,
    ValidationFailed,
    ValidationProblem,
    problem_error,
    validation_problem,
)
from jupyter_bootstrap.acme_network import (
    AcmeNetwork,
    fetch_directory,
    network_reason,
    server_name,
    trust_store,
)
from jupyter_bootstrap.acme_ports import HTTP_01, TLS_ALPN_01, ChallengePorts
from jupyter_bootstrap.errors import UserError
from jupyter_bootstrap.files import Owner

log = logging.getLogger("jupyter_bootstrap")

# Let's Encrypt issues certificates for IP addresses only under this profile (about 160 h).
SHORTLIVED_PROFILE = "shortlived"
DEFAULT_CHALLENGES = (TLS_ALPN_01, HTTP_01)
STANDARD_PORTS = ChallengePorts()  # where the CA connects: 443 and 80
DEFAULT_TIMEOUT = 180.0  # seconds for the CA to validate and issue, all checks together

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]


class Issued(NamedTuple):
    chain_pem: bytes  # the leaf first, then the intermediates, as the CA sent them
    not_after: datetime.datetime
    profile: Optional[str]  # the profile asked for (None: the CA's default)
    challenge: str  # how the CA checked this machine (for reused authorizations: back then)


def split_names(names: Sequence[str]) -> tuple[list[str], list[IPAddress]]:
    """(DNS names, IP addresses), each checked and normalised, duplicates dropped."""
    if not names:
        raise UserError(
            "no name or address to put in the certificate",
            hint="give the machine's public DNS name or IP address",
        )
    dns: list[str] = []
    ips: list[IPAddress] = []
    for name in names:
        normal = hostnames.parse_hostname(name)
        try:
            address = ipaddress.ip_address(normal)
        except ValueError:
            if normal not in dns:
                dns.append(normal)
            continue
        if address not in ips:
            ips.append(address)
    return dns, ips


def choose_profile(meta: messages.Directory.Meta, ips: Sequence[IPAddress]) -> Optional[str]:
    """`shortlived` when the order holds an IP address and the CA offers that profile; else
    none, and the CA issues its default (a CA that advertises no profiles takes none)."""
    profiles = meta.profiles or {}
    if ips and SHORTLIVED_PROFILE in profiles:
        return SHORTLIVED_PROFILE
    return None


def _check_directory_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise UserError(
            f"{url!r} is not an https:// URL",
            hint=f"an ACME directory is an https:// URL, e.g. {DEFAULT_DIRECTORY_URL}",
        )


def _csr(key_pem: bytes, dns: list[str], ips: list[IPAddress]) -> bytes:
    try:
        return crypto_util.make_csr(key_pem, domains=dns, ipaddrs=ips)
    except (ValueError, TypeError) as error:
        raise UserError(
            f"the certificate's private key cannot sign a request: {error}",
            hint="use an unencrypted EC or RSA key in PEM form",
        ) from None


@contextlib.contextmanager
def _told_plainly(directory_url: str, timeout: float) -> Iterator[None]:
    """acme's and requests' exceptions, as the errors of acme_errors."""
    server = server_name(directory_url)
    try:
        yield
    except errors.IssuanceError as error:
        raise problem_error(error.error, server) from None
    except messages.Error as error:
        raise problem_error(error, server) from None
    except errors.TimeoutError:
        raise AcmeTimeout(timeout, "validating and issuing") from None
    except requests.RequestException as error:
        url = error.request.url if error.request is not None else None
        raise AcmeServerUnreachable(url or directory_url, network_reason(error)) from None
    except (errors.Error, DeserializationError) as error:
        raise AcmeFailed(
            f"unexpected answer from the ACME server {server}: {error}",
            hint="run again later; if it keeps happening, the CA is misbehaving",
        ) from None


@dataclass
class _AccountKeeper:
    """The account for this directory, registered when needed and saved when it changes."""

    state_dir: Path
    directory_url: str
    owner: Optional[Owner]
    contact: Optional[str]
    account: acme_account.Account

    def sign_in(self, acme: client.ClientV2) -> None:
        if self.account.url is None:
            self.register(acme)
        else:
            acme_account.use(acme, self.account.url)

    def register(self, acme: client.ClientV2) -> None:
        self.account = acme_account.register(acme, self.account, self.contact)
        acme_account.save(self.state_dir, self.directory_url, self.account, self.owner)


def _new_order(
    acme: client.ClientV2, keeper: _AccountKeeper, csr_pem: bytes, profile: Optional[str]
) -> messages.OrderResource:
    try:
        return acme.new_order(csr_pem, profile=profile)
    except messages.Error as error:
        if error.code != "accountDoesNotExist":
            raise
    # The CA forgot the account (a test CA restarted, or an account deleted): the same key
    # registers again.
    log.info("ACME: the CA no longer knows account %s; registering again", keeper.account.url)
    keeper.register(acme)
    return acme.new_order(csr_pem, profile=profile)


def _answers(
    authorizations: Sequence[messages.AuthorizationResource], challenge: str
) -> tuple[list[Answer], Optional[tuple[str, list[str]]]]:
    """The challenge of type `challenge` of each authorization, or (identifier, offered) of
    the first authorization that does not offer it."""
    answers = []
    for authz in authorizations:
        identifier = authz.body.identifier.value
        offered = [challb.chall.typ for challb in authz.body.challenges]
        chosen = [challb for challb in authz.body.challenges if challb.chall.typ == challenge]
        if not chosen:
            return [], (identifier, offered)
        answers.append(Answer(identifier, chosen[0]))
    return answers, None


def _validated_by(authorizations: Sequence[messages.AuthorizationResource]) -> str:
    """Which check made an authorization valid earlier (the CA reused it for this order)."""
    for authz in authorizations:
        for challb in authz.body.challenges:
            if challb.status == messages.STATUS_VALID:
                return str(challb.chall.typ)
    return "reused authorization"


def _problems(
    failed: Sequence[messages.AuthorizationResource], challenge: str, ports: ChallengePorts
) -> list[ValidationProblem]:
    problems = []
    for authz in failed:
        identifier = authz.body.identifier.value
        for challb in authz.body.challenges:
            if challb.error is not None:
                problems.append(
                    validation_problem(
                        challenge, identifier, challb.error, ports.for_challenge(challenge)
                    )
                )
    return problems


@dataclass
class _Attempts:
    """What went wrong with each kind of check, to say it all if none works."""

    failed: list[ValidationProblem]
    ports: list[PortProblem]
    unoffered: Optional[tuple[str, list[str]]] = None

    def error(self, kinds: Sequence[str]) -> AcmeFailed:
        if self.failed:
            return ValidationFailed(self.failed, skipped=self.ports)
        if self.ports:
            return ChallengePortUnavailable.of(self.ports)
        identifier, offered = self.unoffered or ("the order", [])
        return NoUsableChallenge(identifier, offered, kinds)


def _validated_order(
    acme: client.ClientV2,
    new_order: Callable[[], messages.OrderResource],
    account_key: JWK,
    ports: ChallengePorts,
    kinds: Sequence[str],
    deadline: datetime.datetime,
) -> tuple[messages.OrderResource, str]:
    """An order whose authorizations are all valid, and the kind of check that made them."""
    attempts = _Attempts([], [])
    order: Optional[messages.OrderResource] = None
    for kind in kinds:
        if order is None:
            order = new_order()
        pending = [a for a in order.authorizations if a.body.status == messages.STATUS_PENDING]
        if not pending:
            return order, _validated_by(order.authorizations)
        answers, unoffered = _answers(pending, kind)
        if unoffered is not None:
            attempts.unoffered = unoffered
            continue
        try:
            with responding(kind, answers, account_key, ports, certs.utc_now()):
                for answer in answers:
                    response = answer.key_authorization_challenge.response(account_key)
                    acme.answer_challenge(answer.challenge, response)
                order = acme.poll_authorizations(order, deadline)
        except ChallengePortUnavailable as error:
            log.info("ACME: %s not tried: %s", kind, error.message)
            attempts.ports.extend(error.problems)
            continue
        except errors.ValidationError as error:
            problems = _problems(error.failed_authzrs, kind, ports)
            log.info("ACME: %s failed: %s", kind, "; ".join(p.detail for p in problems))
            attempts.failed.extend(problems)
            order = None  # the CA marked the order invalid: the next kind needs a new one
            continue
        invalid = [a for a in order.authorizations if a.body.status != messages.STATUS_VALID]
        if invalid:
            raise AcmeFailed(
                f"the CA left the authorization for {invalid[0].body.identifier.value} "
                f"{invalid[0].body.status.name} after the {kind} check",
                hint="run again; if it keeps happening, the CA is misbehaving",
            )
        return order, kind
    raise attempts.error(kinds)


def _issued(
    chain_pem: bytes, key_pem: bytes, names: Sequence[str], profile: Optional[str], challenge: str
) -> Issued:
    """The chain, checked against what was asked before anyone relies on it."""
    try:
        info = certs.inspect(chain_pem, key_pem)
    except certs.BadCertificate as error:
        raise AcmeFailed(
            f"the CA sent something that is not a certificate ({error})",
            hint="run again later; if it keeps happening, the CA is misbehaving",
        ) from None
    missing = info.uncovered(names)
    if not info.key_matches or missing:
        raise AcmeFailed(
            "the CA issued a certificate that does not match the request "
            f"({'wrong key' if not info.key_matches else 'missing ' + ', '.join(missing)})",
            hint="run again later; if it keeps happening, the CA is misbehaving",
        )
    leaf = x509.load_pem_x509_certificate(chain_pem)
    return Issued(chain_pem, leaf.not_valid_after_utc, profile, challenge)


def order_certificate(
    directory_url: str,
    names: Sequence[str],
    state_dir: Path,
    key_pem: bytes,
    *,
    ports: ChallengePorts = STANDARD_PORTS,
    ca_bundle: Optional[str] = None,
    contact: Optional[str] = None,
    timeout: float = DEFAULT_TIMEOUT,
    challenges: Sequence[str] = DEFAULT_CHALLENGES,
    owner: Optional[Owner] = None,
) -> Issued:
    """A certificate for `names` (DNS names and IP addresses) and the key `key_pem`, from the
    CA at `directory_url`. Responders listen on `ports` only while the CA checks; the CA's
    TLS is verified with `ca_bundle` (a PEM file) when given, else the system's trust store.
    The account lives in `state_dir`; nothing else is written."""
    unknown = [kind for kind in challenges if kind not in DEFAULT_CHALLENGES]
    if unknown or not challenges:
        raise ValueError(f"challenges must be among {DEFAULT_CHALLENGES}, not {challenges}")
    _check_directory_url(directory_url)
    dns, ips = split_names(names)
    csr_pem = _csr(key_pem, dns, ips)
    verify = trust_store(ca_bundle)
    # The directory first, unsigned: a wrong URL or an unreachable CA leaves no account key.
    net = AcmeNetwork(None, acme_account.ACCOUNT_ALG, verify)
    try:
        directory = fetch_directory(directory_url, net)
        account = acme_account.load_or_create(state_dir, directory_url, owner)
        keeper = _AccountKeeper(state_dir, directory_url, owner, contact, account)
        net.key = account.key
        acme = client.ClientV2(directory, net)
        profile = choose_profile(directory.meta, ips)
        log.info(
            "ACME: ordering %s from %s (profile %s)",
            ", ".join([*dns, *map(str, ips)]),
            directory_url,
            profile or "default",
        )
        deadline = datetime.datetime.now() + datetime.timedelta(seconds=timeout)
        with _told_plainly(directory_url, timeout):
            keeper.sign_in(acme)
            order, challenge = _validated_order(
                acme,
                lambda: _new_order(acme, keeper, csr_pem, profile),
                keeper.account.key,
                ports,
                challenges,
                deadline,
            )
            done = acme.finalize_order(order, deadline)
    finally:
        net.session.close()
    chain = done.fullchain_pem.encode("ascii")
    issued = _issued(chain, key_pem, [*dns, *map(str, ips)], profile, challenge)
    log.info("ACME: issued, valid until %s, checked by %s", issued.not_after, challenge)
    return issued
