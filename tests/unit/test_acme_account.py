"""The ACME account file: one per directory URL, private, reused, and refused plainly when
damaged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jupyter_bootstrap import acme_account
from jupyter_bootstrap.errors import UserError

LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"
PUBLIC_ONLY = {  # RFC 7517's example EC public key
    "kty": "EC",
    "crv": "P-256",
    "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
}


def test_a_new_key_is_saved_privately_before_registration(tmp_path: Path) -> None:
    state = tmp_path / "acme"

    account = acme_account.load_or_create(state, LETS_ENCRYPT)

    path = acme_account.account_file(state, LETS_ENCRYPT)
    assert path.name.startswith("account-acme-v02.api.letsencrypt.org-")
    assert state.stat().st_mode & 0o777 == 0o700
    assert path.stat().st_mode & 0o777 == 0o600
    assert account.url is None
    assert json.loads(path.read_text())["account_url"] is None


def test_the_saved_account_is_reused(tmp_path: Path) -> None:
    first = acme_account.load_or_create(tmp_path, LETS_ENCRYPT)
    registered = acme_account.Account(first.key, "https://ca/acct/1", "https://ca/terms")
    acme_account.save(tmp_path, LETS_ENCRYPT, registered)

    again = acme_account.load_or_create(tmp_path, LETS_ENCRYPT)

    assert again == registered


def test_each_directory_has_an_account_of_its_own(tmp_path: Path) -> None:
    production = acme_account.load_or_create(tmp_path, LETS_ENCRYPT)
    staging = acme_account.load_or_create(tmp_path, STAGING)
    pebble_a = acme_account.account_file(tmp_path, "https://127.0.0.1:14000/dir")
    pebble_b = acme_account.account_file(tmp_path, "https://127.0.0.1:14001/dir")

    assert production.key != staging.key
    assert pebble_a != pebble_b
    assert len(list(tmp_path.iterdir())) == 2


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "{}",
        '{"key": {"kty": "EC"}}',
        # A public key only: it cannot sign.
        json.dumps({"directory": LETS_ENCRYPT, "key": PUBLIC_ONLY}),
    ],
)
def test_a_damaged_account_file_is_a_user_error_saying_what_to_do(
    tmp_path: Path, content: str
) -> None:
    acme_account.account_file(tmp_path, LETS_ENCRYPT).write_text(content)

    with pytest.raises(UserError) as raised:
        acme_account.load_or_create(tmp_path, LETS_ENCRYPT)

    assert "is damaged" in raised.value.message
    assert raised.value.hint and "rm " in raised.value.hint
