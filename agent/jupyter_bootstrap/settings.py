"""The user's choices: saved on the first run, reused by every later run, overridden (and
saved again) by any flag given later."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from jupyter_bootstrap.errors import UserError
from jupyter_bootstrap.files import Owner, atomic_write, ensure_dir, read_bytes_or_none

SCHEMA_VERSION = 1

DISTRIBUTIONS = ("anaconda", "miniconda", "miniforge")
APPS = ("notebook", "lab")
ACCESS_MODES = ("public", "tunnel")
KEY_TYPES = ("ec", "rsa")
# Who makes the certificate when the user brings none (--certfile/--keyfile is the third
# kind, told by `certfile` being set).
CERTIFICATE_KINDS = ("self-signed", "letsencrypt")


@dataclass
class Settings:
    """The saved choices: every re-run starts from them, and an option given again wins."""

    schema_version: int = SCHEMA_VERSION
    distribution: str = "anaconda"
    prefix: Optional[str] = None
    app: str = "notebook"
    port: int = 8888
    access: str = "public"
    hostnames: list[str] = field(default_factory=list)
    notebook_dir: Optional[str] = None
    certfile: Optional[str] = None
    keyfile: Optional[str] = None
    key_type: str = "ec"
    password_hash: Optional[str] = None
    service_name: str = "jupyter"
    no_service: bool = False
    installer_url: Optional[str] = None
    installer_sha256: Optional[str] = None
    accept_anaconda_tos: bool = False
    certificate: str = "self-signed"
    # Let's Encrypt by default (acme_order.DEFAULT_DIRECTORY_URL); another ACME CA's
    # directory, e.g. a company's own, or a test server.
    acme_directory: Optional[str] = None
    # A PEM file of CA certificates to verify the directory's TLS with (a proxy that
    # inspects TLS, a private CA); None: the system's.
    acme_ca_bundle: Optional[str] = None
    # Where this machine answers the CA's checks. The CA always connects to 443 and 80:
    # other values only make sense behind a port forward, or for tests.
    acme_tls_alpn_port: int = 443
    acme_http_port: int = 80
    # A kernel for every environment with ipykernel under the prefix's envs/ and these
    # folders (each a folder of environments, or an environment itself).
    env_kernels: bool = True
    env_dirs: list[str] = field(default_factory=list)
    # Seconds a kernel or terminal may sit idle before Jupyter shuts it down; 0: never.
    idle_kernel_timeout: int = 2 * 3600
    # Seconds with no Jupyter activity and nobody logged in before the machine powers
    # itself off; 0: never (the default: it is opt-in).
    stop_when_idle: int = 0

    @property
    def bind_ip(self) -> str:
        return "127.0.0.1" if self.access == "tunnel" else "0.0.0.0"

    @property
    def letsencrypt(self) -> bool:
        return self.certificate == "letsencrypt" and not self.own_certificate

    @property
    def own_certificate(self) -> bool:
        """True when the user brought their own pair (e.g. certbot): we never overwrite it."""
        return self.certfile is not None

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    def with_overrides(self, overrides: dict[str, Any]) -> Settings:
        known = {f.name for f in dataclasses.fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise ValueError(f"unknown settings: {sorted(unknown)}")
        return dataclasses.replace(self, **{k: v for k, v in overrides.items() if v is not None})


def load(path: Path) -> Settings:
    raw = read_bytes_or_none(path)
    if raw is None:
        return Settings()
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return _from_dict(data)
    except (ValueError, TypeError) as error:
        raise UserError(
            f"{path} is not valid jupyter-bootstrap settings ({error})",
            hint="fix it, or delete it and run `jupyter-bootstrap init` again with your flags",
        ) from None


def _from_dict(data: dict[str, Any]) -> Settings:
    version = data.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise ValueError(f"schema_version {version!r} is newer than this agent understands")
    # Keys a later version added are dropped; keys an older version lacked take defaults.
    known = {f.name for f in dataclasses.fields(Settings)}
    values = {k: v for k, v in data.items() if k in known}
    values["schema_version"] = SCHEMA_VERSION
    settings = Settings(**values)
    _validate_types(settings)
    return settings


def valid_unit_name(name: str) -> bool:
    """A systemd unit name we can put under /etc/systemd/system (no path, no spaces)."""
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")
    return bool(name) and len(name) < 240 and set(name) <= allowed and not name.startswith(".")


def _validate_types(settings: Settings) -> None:
    for item in dataclasses.fields(settings):
        value = getattr(settings, item.name)
        default = item.default if item.default is not dataclasses.MISSING else None
        if item.name in ("hostnames", "env_dirs"):
            if not isinstance(value, list) or not all(isinstance(h, str) for h in value):
                raise ValueError(f"{item.name} must be a list of strings")
        elif value is not None and default is not None and type(value) is not type(default):
            raise ValueError(f"{item.name} must be a {type(default).__name__}")
    for name, allowed in (
        ("distribution", DISTRIBUTIONS),
        ("app", APPS),
        ("access", ACCESS_MODES),
        ("key_type", KEY_TYPES),
        ("certificate", CERTIFICATE_KINDS),
    ):
        if getattr(settings, name) not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(allowed)}")
    _validate_values(settings)


def _validate_values(settings: Settings) -> None:
    """Ranges and forms, as the flags that set them check them: a hand-edited file must not
    get past what `init --port 0` or `--service-name a/b` is refused for."""
    from jupyter_bootstrap import stop_when_idle
    from jupyter_bootstrap.hostnames import parse_hostname

    for key in ("port", "acme_tls_alpn_port", "acme_http_port"):
        value = getattr(settings, key)
        if not 1 <= value <= 65535:
            raise ValueError(f"{key} {value} is not between 1 and 65535")
    if not valid_unit_name(settings.service_name):
        raise ValueError(f"service_name {settings.service_name!r} is not a systemd unit name")
    for name in settings.hostnames:
        try:
            parse_hostname(name)
        except UserError as error:
            raise ValueError(f"hostname {name!r}: {error.message}") from None
    if settings.idle_kernel_timeout < 0:
        raise ValueError("idle_kernel_timeout must be 0 (never) or a number of seconds")
    problem = stop_when_idle.problem_with(settings.stop_when_idle)
    if problem is not None:
        raise ValueError(f"stop_when_idle {settings.stop_when_idle}: {problem}")
    if any(not Path(folder).is_absolute() for folder in settings.env_dirs):
        raise ValueError("env_dirs must be absolute paths")


def save(path: Path, settings: Settings, owner: Optional[Owner] = None) -> bool:
    """Write only when the content differs, so a no-op run leaves the file untouched."""
    text = settings.to_json()
    if read_bytes_or_none(path) == text.encode():
        return False
    ensure_dir(path.parent, 0o700, owner)
    atomic_write(path, text, 0o600, owner)
    return True
