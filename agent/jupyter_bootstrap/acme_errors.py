"""What can go wrong between the agent and an ACME CA (Let's Encrypt), told so that someone who
has never heard of ACME knows what to do next: one line saying what failed, a hint saying what
to change, and the CA's own words kept in the details.

Failures of the exchange are `StepFailed` (exit 1); input the caller should not have passed is
`UserError` (exit 2) and is raised where it is checked."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple, Optional

from acme import messages

from jupyter_bootstrap.errors import StepFailed

FIREWALL_HINT = (
    "allow inbound TCP {ports} from anywhere (0.0.0.0/0, and ::/0 for IPv6) in the "
    "instance's security group and any firewall, then run again: the CA connects from its "
    "own addresses, not yours"
)


class AcmeFailed(StepFailed):
    """The certificate could not be obtained from the CA."""


class AcmeServerUnreachable(AcmeFailed):
    def __init__(self, url: str, reason: str, hint: Optional[str] = None) -> None:
        super().__init__(
            f"cannot reach the ACME server at {url}: {reason}",
            hint=hint
            or "check that this machine can open outbound HTTPS connections (TCP 443) and "
            "that the address is right, then run again",
        )
        self.url = url
        self.reason = reason


class DirectoryUnreachable(AcmeServerUnreachable):
    """The first request, for the CA's directory, got no answer."""


class DirectoryUntrusted(DirectoryUnreachable):
    def __init__(self, url: str) -> None:
        super().__init__(
            url,
            "its TLS certificate is not trusted",
            hint="if a proxy between this machine and the CA inspects TLS, give the agent "
            "that proxy's CA certificate (a PEM file) to trust; otherwise check the "
            "machine's clock and CA certificates (ca-certificates package)",
        )


class NotAnAcmeDirectory(AcmeFailed):
    def __init__(self, url: str, what: str) -> None:
        super().__init__(
            f"{url} is not an ACME directory: {what}",
            hint="check the directory URL (Let's Encrypt's is "
            "https://acme-v02.api.letsencrypt.org/directory); a proxy or captive portal "
            "answering in the CA's place gives this too",
        )
        self.url = url


class PortProblem(NamedTuple):
    """A responder that could not listen: for which challenge, on which port, and why."""

    challenge: str
    port: int
    reason: str  # "in use", "permission denied", or the system's words

    def describe(self) -> str:
        return f"TCP port {self.port} ({self.challenge}): {self.reason}"


class ChallengePortUnavailable(AcmeFailed):
    """No responder could listen. `ports` are the ports that failed, for a caller that can
    name the program holding them."""

    def __init__(self, problems: Sequence[PortProblem]) -> None:
        self.problems = tuple(problems)
        self.ports = tuple(problem.port for problem in self.problems)
        ports = " and ".join(str(port) for port in self.ports)
        if all(problem.reason == "in use" for problem in self.problems):
            message = f"cannot answer the CA's check: TCP port {ports} already in use"
            hint = (
                f"another program listens on TCP port {ports}; stop it while the "
                "certificate is issued (a minute), then run again"
            )
        elif all(problem.reason == "permission denied" for problem in self.problems):
            message = f"cannot answer the CA's check: not allowed to listen on TCP port {ports}"
            hint = (
                "ports below 1024 need the CAP_NET_BIND_SERVICE capability for the process "
                "that answers the CA"
            )
        else:
            message = "cannot answer the CA's check: " + "; ".join(
                problem.describe() for problem in self.problems
            )
            hint = "free the port or ports named, then run again"
        super().__init__(message, hint=hint)

    @classmethod
    def of(cls, problems: Sequence[PortProblem]) -> ChallengePortUnavailable:
        if problems and all(problem.reason == "in use" for problem in problems):
            return ChallengePortInUse(problems)
        return cls(problems)


class ChallengePortInUse(ChallengePortUnavailable):
    """Every port the responders needed was held by another program."""


class ValidationProblem(NamedTuple):
    """The CA's verdict on one challenge, as read from the authorization's error."""

    challenge: str
    identifier: str
    port: int  # the port the CA tried
    detail: str  # the CA's words
    unreachable: bool  # it could not connect at all (as opposed to: got a wrong answer)

    def where(self) -> str:
        return f"{self.identifier} on TCP port {self.port} ({self.challenge})"


# How CAs say they could not connect: Let's Encrypt's "Timeout during connect (likely
# firewall problem)", "Connection refused"; Pebble's "Failed to connect to ..." and Go's
# "dial tcp ...: connect: connection refused".
_UNREACHABLE = re.compile(
    r"timeout|timed out|connection refused|connection reset|failed to connect|"
    r"no route to host|network is unreachable|could not connect",
    re.IGNORECASE,
)


def validation_problem(
    challenge: str, identifier: str, error: messages.Error, default_port: int
) -> ValidationProblem:
    """Read which port the CA tried from its message (`127.0.0.1:5002`, `[::1]:443`), else
    the port the challenge uses."""
    detail = error.detail or error.description or str(error.typ)
    host = re.escape(identifier)
    found = re.search(rf"(?<![\w.:]){host}\]?:(\d{{1,5}})\b", detail)
    port = int(found.group(1)) if found else default_port
    unreachable = error.code == "connection" or bool(_UNREACHABLE.search(detail))
    return ValidationProblem(challenge, identifier, port, detail, unreachable)


def _ports_text(ports: Sequence[int]) -> str:
    unique = sorted(set(ports), reverse=True)  # 443 before 80, as people say it
    return " and ".join(str(port) for port in unique)


class ValidationFailed(AcmeFailed):
    """The CA checked and was not satisfied: for each challenge tried, what it reported."""

    def __init__(
        self,
        problems: Sequence[ValidationProblem],
        skipped: Sequence[PortProblem] = (),
    ) -> None:
        self.problems = tuple(problems)
        self.skipped = tuple(skipped)
        unreachable = [problem for problem in self.problems if problem.unreachable]
        answered = [problem for problem in self.problems if not problem.unreachable]
        self.ports = tuple(dict.fromkeys(problem.port for problem in self.problems))
        if unreachable:
            where = " or ".join(problem.where() for problem in unreachable)
            message = f"the CA could not reach this machine at {where}"
            hint = FIREWALL_HINT.format(
                ports=_ports_text([problem.port for problem in unreachable])
            )
        else:
            where = " or ".join(problem.where() for problem in answered)
            message = f"the CA reached {where} but did not get this machine's answer"
            hint = (
                "something else answers on that port in front of this machine (a load "
                "balancer, a proxy or another web server?): let the port reach this machine "
                "directly, then run again"
            )
        lines = [f"{p.challenge} for {p.identifier}: {p.detail}" for p in self.problems]
        lines += [f"not tried: {p.describe()}" for p in self.skipped]
        super().__init__(message, hint=hint, details="\n".join(lines))


class NoUsableChallenge(AcmeFailed):
    def __init__(self, identifier: str, offered: Sequence[str], wanted: Sequence[str]) -> None:
        super().__init__(
            f"the CA offers no {' or '.join(wanted)} check for {identifier} "
            f"(only {', '.join(offered) or 'none'})",
            hint="this CA cannot validate this name the way the agent can answer; "
            "use Let's Encrypt, or bring a certificate of your own",
        )


_PROBLEM_HINTS = {
    "rateLimited": "the CA limits how many certificates one account or address gets: "
    "wait (an hour, up to a week for the weekly limits) and run again",
    "rejectedIdentifier": "the CA will not issue a certificate for this name or address: "
    "use a domain name of your own, or keep the self-signed certificate",
    "unsupportedIdentifier": "this CA does not issue certificates for that kind of name: "
    "use a domain name of your own, or keep the self-signed certificate",
    "caa": "a CAA record in the domain's DNS forbids this CA: add one that allows it",
    "badNonce": "the CA kept refusing our requests as replays: wait a minute, run again",
    "externalAccountRequired": "this CA needs an external account binding, which the "
    "agent does not support: use Let's Encrypt",
    "accountDoesNotExist": "the CA no longer knows the saved ACME account: run again to "
    "register a new one",
}


class AcmeProblem(AcmeFailed):
    """The CA answered with an ACME problem document; its detail is quoted."""

    def __init__(self, server: str, code: str, detail: str, details: Optional[str]) -> None:
        super().__init__(
            f"the ACME server {server} refused: {detail}",
            hint=_PROBLEM_HINTS.get(
                code,
                "run again later; if it keeps failing, the CA's words above say what it objects to",
            ),
            details=details,
        )
        self.code = code
        self.detail = detail


def problem_error(error: messages.Error, server: str) -> AcmeProblem:
    code = error.code or str(error.typ)
    detail = error.detail or error.description or code
    sub = [
        f"{sub.identifier.value if sub.identifier else ''}: {sub.detail or sub.typ}"
        for sub in error.subproblems or ()
    ]
    return AcmeProblem(server, code, detail, "\n".join(sub) or None)


class AcmeTimeout(AcmeFailed):
    def __init__(self, seconds: float, waiting_for: str) -> None:
        super().__init__(
            f"the CA did not finish {waiting_for} within {seconds:.0f} s",
            hint="run again in a few minutes: the CA may be busy",
        )
