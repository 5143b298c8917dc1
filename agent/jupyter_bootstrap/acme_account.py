"""The ACME account: the key that signs every request to the CA, and the account URL the CA
gave it. One file per directory URL in the state folder (an account at Pebble or at the
staging CA is of no use at Let's Encrypt), mode 0600 in a 0700 folder: the key is a secret.

The key is saved before it is registered, and registering a key the CA already knows just
returns its account: a run killed half-way registers nothing twice."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import NamedTuple, Optional
from urllib.parse import urlsplit

from acme import client, errors, messages
from cryptography.hazmat.primitives.asymmetric import ec
from josepy.errors import DeserializationError
from josepy.jwa import ES256
from josepy.jwk import JWK, JWKEC

from jupyter_bootstrap.acme_errors import AcmeFailed
from jupyter_bootstrap.errors import UserError
from jupyter_bootstrap.files import Owner, atomic_write, ensure_dir, read_bytes_or_none

log = logging.getLogger("jupyter_bootstrap")

# EC P-256 (ES256): accepted by Let's Encrypt and Pebble, and small and quick to make.
ACCOUNT_ALG = ES256
FILE_VERSION = 1


class Account(NamedTuple):
    key: JWK
    url: Optional[str]  # None until the CA has registered the key
    terms_of_service: Optional[str] = None  # the terms agreed to, for the record


def account_file(state_dir: Path, directory_url: str) -> Path:
    """`account-<host>-<hash>.json`: the host for a person looking in the folder, a hash of
    the whole URL because one host may serve several CAs (Pebble on two ports, or a path)."""
    host = urlsplit(directory_url).hostname or "acme"
    digest = hashlib.sha256(directory_url.encode("utf-8")).hexdigest()[:12]
    return state_dir / f"account-{host}-{digest}.json"


def _damaged(path: Path, why: str) -> UserError:
    return UserError(
        f"the ACME account file {path} is damaged ({why})",
        hint=f"remove it (rm {path}) and run again: a new account is registered",
    )


def _parse(path: Path, data: bytes, directory_url: str) -> Account:
    try:
        document = json.loads(data)
        key = JWK.from_json(document["key"])
        url = document.get("account_url")
        terms = document.get("terms_of_service")
    except (ValueError, KeyError, TypeError, DeserializationError) as error:
        raise _damaged(path, type(error).__name__) from None
    # josepy wraps the cryptography key; only a private one has private numbers.
    if not isinstance(key, JWKEC) or not hasattr(key.key, "private_numbers"):
        raise _damaged(path, "no private EC key in it")
    if document.get("directory") != directory_url:
        raise _damaged(path, f"it belongs to {document.get('directory')}")
    if url is not None and not isinstance(url, str):
        raise _damaged(path, "the account URL is not text")
    return Account(key, url, terms if isinstance(terms, str) else None)


def save(
    state_dir: Path, directory_url: str, account: Account, owner: Optional[Owner] = None
) -> None:
    document = {
        "version": FILE_VERSION,
        "directory": directory_url,
        "account_url": account.url,
        "terms_of_service": account.terms_of_service,
        "key": account.key.to_json(),
    }
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    atomic_write(account_file(state_dir, directory_url), text, 0o600, owner)


def load_or_create(state_dir: Path, directory_url: str, owner: Optional[Owner] = None) -> Account:
    """The saved account for this directory, or a new key (saved at once, not registered)."""
    ensure_dir(state_dir, 0o700, owner)
    path = account_file(state_dir, directory_url)
    data = read_bytes_or_none(path)
    if data is not None:
        return _parse(path, data, directory_url)
    account = Account(JWKEC(key=ec.generate_private_key(ec.SECP256R1())), None)
    save(state_dir, directory_url, account, owner)
    log.info("ACME: new account key in %s", path)
    return account


def use(acme: client.ClientV2, url: str) -> None:
    """Sign the following requests as the account at `url` (no request is made)."""
    acme.net.account = messages.RegistrationResource(uri=url, body=messages.Registration())


def register(acme: client.ClientV2, account: Account, contact: Optional[str]) -> Account:
    """Register the key, agreeing to the CA's terms (the user chose this CA), or find the
    account the CA already has for it. Returns the account with its URL."""
    terms = acme.directory.meta.terms_of_service
    acme.net.account = None  # a registration request must not name an account
    new = messages.NewRegistration.from_data(email=contact, terms_of_service_agreed=True)
    try:
        registration = acme.new_account(new)
        url = registration.uri
        log.info("ACME: registered account %s", url)
    except errors.ConflictError as existing:
        url = existing.location
        use(acme, url)
        log.info("ACME: the key already had account %s", url)
    if not url:
        raise AcmeFailed(
            "the CA registered the ACME account but did not say where it is",
            hint="run again later; if it keeps happening, the CA is misbehaving",
        )
    return Account(account.key, url, terms or account.terms_of_service)
