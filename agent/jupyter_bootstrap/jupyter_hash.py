"""Password hashes in Jupyter's own format, made and checked with argon2-cffi.

Jupyter Server's `passwd()` writes `argon2:` + the encoded hash of
`PasswordHasher(memory_cost=10240, time_cost=10, parallelism=8)`; `passwd_check()` also
accepts the old `<algorithm>:<salt>:<hexdigest>` form (sha1, what hand-made setups of
classic Notebook used)."""

from __future__ import annotations

import hashlib
import hmac
import re
from enum import Enum
from pathlib import Path
from typing import Optional

from jupyter_bootstrap import __version__, derived

ARGON2_PREFIX = "argon2:"
MIN_PASSWORD_LENGTH = 8
# What Jupyter's login form does to a typed password before checking it (tornado's
# get_argument): control characters become spaces, then surrounding whitespace is stripped.
# A password that this changes is hashed as typed but never arrives as typed: no login.
_FORM_REMOVES = re.compile(r"[\x00-\x08\x0e-\x1f]")


class HashKind(Enum):
    ARGON2 = "argon2"
    LEGACY = "legacy"  # salted sha1/sha256...: accepted by Jupyter but cheap to brute-force
    INVALID = "invalid"


def refusal(password: str) -> Optional[str]:
    """Why `password` cannot be used (None when it can): too short, or not what the login
    form would send."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"too short: use at least {MIN_PASSWORD_LENGTH} characters"
    if password != password.strip():
        # Short enough for one prompt line of 100 columns.
        return (
            "it starts or ends with a space; the login page strips that, so it could never log in"
        )
    if _FORM_REMOVES.search(password):
        return "it holds a control character, which the login page turns into a space"
    return None


def hash_password(password: str) -> str:
    """Hash and immediately verify (a malformed hash makes Jupyter raise at login, so we
    never write one we have not checked)."""
    from argon2 import PasswordHasher

    hasher = PasswordHasher(memory_cost=10240, time_cost=10, parallelism=8)
    hashed = ARGON2_PREFIX + hasher.hash(password)
    if not verify(hashed, password):
        raise RuntimeError("argon2 produced a hash that does not verify")
    return hashed


def kind(hashed: str, keep: bool = False) -> HashKind:
    """Which kind of hash Jupyter would take `hashed` for. `keep`: remember an ARGON2
    verdict for the next run (see below). Only the password step's check of the saved hash
    asks for that: a hash that is merely validated (a --password-hash given to a dry run, the
    cloud-init command on someone's laptop) is not this machine's to remember."""
    if hashed.startswith(ARGON2_PREFIX):
        return _argon2_kind(hashed[len(ARGON2_PREFIX) :], keep)
    parts = hashed.split(":")
    if len(parts) != 3:
        return HashKind.INVALID
    algorithm, salt, digest = parts
    if algorithm not in hashlib.algorithms_guaranteed or algorithm.startswith("shake"):
        return HashKind.INVALID
    expected_length = hashlib.new(algorithm).digest_size * 2
    try:
        bytes.fromhex(digest)
    except ValueError:
        return HashKind.INVALID
    if len(digest) != expected_length or not salt:
        return HashKind.INVALID
    return HashKind.LEGACY


def verify(hashed: str, password: str) -> bool:
    """The same answer Jupyter's passwd_check gives, without ever raising."""
    hash_kind = kind(hashed)
    if hash_kind is HashKind.ARGON2:
        from argon2 import PasswordHasher
        from argon2.exceptions import VerificationError

        try:
            return PasswordHasher().verify(hashed[len(ARGON2_PREFIX) :], password)
        except VerificationError:
            return False
    if hash_kind is HashKind.LEGACY:
        algorithm, salt, digest = hashed.split(":")
        computed = hashlib.new(algorithm, password.encode("utf-8") + salt.encode("ascii"))
        return hmac.compare_digest(computed.hexdigest(), digest)
    return False


# The verdict on the saved argon2 hash, kept (derived.py) so that checking the same hash again
# does not load argon2's C library: every `status` and `init` checks it.
KIND = "hashes"
NAME = "argon2"


def _argon2_kind(encoded: str, keep: bool) -> HashKind:
    """ARGON2 when argon2-cffi reads the hash's parameters. Only that verdict is kept: a
    malformed hash is looked at again on every run, until it is replaced."""
    if not encoded.startswith("$argon2"):
        return HashKind.INVALID
    key = _verdict_key(encoded)
    if key is not None and derived.recall(KIND, NAME, key) == HashKind.ARGON2.value.encode():
        return HashKind.ARGON2
    from argon2 import extract_parameters
    from argon2.exceptions import InvalidHashError

    try:
        extract_parameters(encoded)
    except (InvalidHashError, ValueError):
        return HashKind.INVALID
    if keep and key is not None:
        derived.keep(KIND, NAME, key, HashKind.ARGON2.value.encode())
    return HashKind.ARGON2


def _verdict_key(encoded: str) -> Optional[str]:
    """The digest of the hash and of the code that judges it: this module and argon2-cffi's
    parser (found without importing it), so that an upgrade of either judges again. None:
    judged every time, as before anything was kept."""
    parser = derived.package_code("argon2", "__init__.py", "_utils.py")
    if parser is None:
        return None
    try:
        ours = Path(__file__).read_bytes()
    except OSError:
        return None
    return derived.digest(
        KIND.encode(),
        __version__.encode(),
        ours,
        *parser,
        encoded.encode("utf-8", "surrogatepass"),  # JSON may hold a lone surrogate
    )
