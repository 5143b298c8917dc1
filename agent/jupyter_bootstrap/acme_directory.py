"""Which ACME CA a certificate from a CA comes from: Let's Encrypt unless told otherwise. Kept
apart from acme_order, which pulls in the ACME client: `status` and the summary name the CA
without ordering anything."""

from __future__ import annotations

import os
from typing import Optional

DEFAULT_DIRECTORY_URL = "https://acme-v02.api.letsencrypt.org/directory"
# Tests point it at Pebble.
ACME_DIRECTORY_ENV = "JUPYTER_BOOTSTRAP_ACME_DIRECTORY"


def directory_url(saved: Optional[str]) -> str:
    """The saved choice, else the environment's, else Let's Encrypt."""
    return saved or os.environ.get(ACME_DIRECTORY_ENV, "").strip() or DEFAULT_DIRECTORY_URL
