"""User data for unattended first boots: what `jupyter-bootstrap cloud-init` prints for an
EC2 launch (or any cloud-init), as a `#cloud-config` document or as a shell script.

Either form carries one bash script that cloud-init runs as root, once per instance: it
downloads install.sh, runs it with `--user NAME` (so the agent is installed in that user's
home, owned by them), then runs `jupyter-bootstrap init --user NAME ...` with the operator's
flags and the password's argon2 hash.

Nothing the operator typed is ever pasted into code unquoted: every value must be printable
ASCII (refused otherwise, before anything is printed), goes into the script through
`shlex.quote`, and into the cloud-config through `json.dumps`. JSON is YAML too (a flow
mapping), which is why no YAML library is needed to write a document cloud-init reads back
exactly.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Sequence
from typing import NamedTuple, Optional
from urllib.parse import urlsplit

from jupyter_bootstrap.errors import UserError

FORMATS = ("cloud-config", "script")
# EC2 refuses larger user data (before base64).
EC2_USER_DATA_LIMIT = 16 * 1024
# install.sh's default place for the agent's venv, in the login user's home.
AGENT_COMMAND = ".local/share/jupyter-bootstrap/venv/bin/jupyter-bootstrap"
AGENT_LOG = ".local/state/jupyter-bootstrap/jupyter-bootstrap.log"
# What the agent's log and `status` call a run started by this script.
FIRST_BOOT_ENV = "JUPYTER_BOOTSTRAP_FIRST_BOOT"
# Debian's and Ubuntu's rule for user names (adduser's NAME_REGEX, plus _ like useradd).
_USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


class FirstBoot(NamedTuple):
    """What the first boot does: install the agent from `install_url` (with `source` as
    its pip requirement, None for install.sh's own default) for `user`, then run the agent
    with `agent_args` (`init --user NAME ...`)."""

    user: str
    install_url: str
    source: Optional[str]
    agent_args: tuple[str, ...]


def check_text(flag: str, value: str) -> None:
    """Printable ASCII only: a newline, a control character or a character YAML parsers
    disagree on has no business in a flag, and refusing it keeps the quoting simple."""
    for char in value:
        if not " " <= char <= "~":
            shown = repr(char) if char.isprintable() else f"U+{ord(char):04X}"
            raise UserError(
                f"{flag} holds {shown}, which the first boot cannot carry safely",
                hint="use plain ASCII letters, digits and punctuation in flags for cloud-init",
            )


def check_user(name: str) -> None:
    if name == "root":
        raise UserError(
            "--user root is refused: Jupyter must not run as root",
            hint="name the instance's login user, e.g. --user ubuntu",
        )
    if not _USER_NAME.match(name):
        raise UserError(
            f"--user {name!r} is not a Linux user name",
            hint="name the instance's login user, e.g. --user ubuntu (Amazon Linux: ec2-user)",
        )


def check_url(flag: str, url: str) -> Optional[str]:
    """Refuse what is not an http(s) URL; return a warning for plain http (None when fine)."""
    check_text(flag, url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in url:
        raise UserError(
            f"{flag} {url!r} is not an http(s) URL",
            hint=f"give the full address, e.g. {flag} https://example.org/install.sh",
        )
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        return (
            f"{flag} is plain http: anyone on the way can change what runs as root at first "
            "boot; an https address is safer"
        )
    return None


def check_absolute(flag: str, path: str) -> None:
    """A path for the instance: `~` or a relative path would be read on this machine."""
    if not path.startswith("/"):
        raise UserError(
            f"{flag} {path!r} must be an absolute path on the instance",
            hint=f"write it out in full, e.g. {flag} /home/ubuntu/Notebooks (a ~ or a relative "
            "path would mean this machine's folders)",
        )


def render(first_boot: FirstBoot, form: str, version: str) -> str:
    """The user data in `form` (one of FORMATS)."""
    for arg in (first_boot.user, first_boot.install_url, first_boot.source or ""):
        check_text("a value", arg)
    for arg in first_boot.agent_args:
        check_text("an init flag", arg)
    check_user(first_boot.user)
    if form == "script":
        return "#!/bin/bash\n" + _comments(first_boot.user, version) + "\n" + _script(first_boot)
    if form == "cloud-config":
        return _cloud_config(first_boot, version)
    raise ValueError(f"unknown user data format {form!r}")


def _comments(user: str, version: str) -> str:
    # Only the version and the checked user name come from outside: nothing here can end
    # the comment and start code.
    lines = [
        f"First-boot setup made by `jupyter-bootstrap cloud-init` {version}.",
        "Paste it into the instance's user data (EC2 launch wizard: Advanced details > User",
        "data). cloud-init runs it as root once, at the first boot: it installs the",
        f"jupyter-bootstrap command for the user {user} (in their home, owned by them, as if",
        f"they had run install.sh) and runs `jupyter-bootstrap init` for {user}. Later boots",
        "run nothing again: systemd starts Jupyter.",
        "",
        "No password is in here, only its argon2 hash, made where this was generated. Any",
        "program on the instance can read its user data: choose a password that is long.",
        "",
        "On the instance: `cloud-init status --wait` waits for the setup; its output is in",
        f"/var/log/cloud-init-output.log. Then, as {user}: `jupyter-bootstrap status`.",
    ]
    return "".join(f"# {line}".rstrip() + "\n" for line in lines)


def _inputs(first_boot: FirstBoot) -> str:
    quote = shlex.quote
    args = " ".join(quote(arg) for arg in first_boot.agent_args)
    return (
        f"jb_user={quote(first_boot.user)}\n"
        f"jb_install_url={quote(first_boot.install_url)}\n"
        "# The agent's pip requirement; empty: the release that install.sh names.\n"
        f"jb_source={quote(first_boot.source or '')}\n"
        f"jb_agent_args=({args})\n"
    )


def _script(first_boot: FirstBoot) -> str:
    # A directive before the first command holds for the whole script: the quoted values
    # (the password hash, a URL) hold a $ that is meant literally.
    directive = "# shellcheck disable=SC2016  # a $ in quotes below is meant literally\n"
    return directive + "set -u\n" + _inputs(first_boot) + FIRST_BOOT_SCRIPT


def _cloud_config(first_boot: FirstBoot, version: str) -> str:
    # runcmd runs once per instance, like a user-data script; the list form is an argv,
    # which cloud-init quotes for the shell itself.
    argv: Sequence[str] = ["bash", "-c", _script(first_boot), "jupyter-bootstrap-first-boot"]
    document = json.dumps({"runcmd": [argv]}, indent=2, ensure_ascii=True)
    note = (
        "# The setup is one bash script (what `--format script` prints), kept in this JSON\n"
        "# string: JSON is YAML, and cloud-init reads it back exactly.\n"
    )
    return "#cloud-config\n" + _comments(first_boot.user, version) + note + document + "\n"


# The script's body, after the inputs above it. It stops at the first failure with a line
# that says what failed and what to do, and exits 1 so `cloud-init status` says error.
FIRST_BOOT_SCRIPT = f"""
jb_say() {{
    printf 'jupyter-bootstrap first boot: %s\\n' "$1"
}}

# jb_fail MESSAGE HINT...: into /var/log/cloud-init-output.log, then exit 1.
jb_fail() {{
    printf 'jupyter-bootstrap first boot: FAILED: %s\\n' "$1" >&2
    shift
    local hint
    for hint in "$@"; do
        printf '  %s\\n' "$hint" >&2
    done
    exit 1
}}

jb_main() {{
    local home installer agent
    home=$(getent passwd "$jb_user" | cut -d: -f6)
    if [ -z "$home" ]; then
        jb_fail "there is no user $jb_user on this instance" \\
            "Make the user data again with the instance's login user:" \\
            "  jupyter-bootstrap cloud-init --user NAME ..."
    fi
    installer=$(mktemp) || jb_fail "cannot make a temporary file (is the disk full?)"
    jb_say "downloading install.sh from $jb_install_url"
    if ! curl -fsSL --retry 5 --retry-connrefused --retry-delay 3 -o "$installer" \\
        "$jb_install_url"; then
        rm -f "$installer"
        jb_fail "could not download install.sh from $jb_install_url (curl's error is above)" \\
            "Check the address, and that the instance can reach it (a route to the" \\
            "internet, outbound HTTPS allowed). Then make the user data again, or log in as" \\
            "$jb_user and install by hand: curl -fsSL ADDRESS | bash && jupyter-bootstrap init"
    fi
    jb_say "installing jupyter-bootstrap for $jb_user"
    if ! JUPYTER_BOOTSTRAP_SOURCE=$jb_source bash "$installer" --user "$jb_user" </dev/null
    then
        rm -f "$installer"
        jb_fail "install.sh did not install jupyter-bootstrap for $jb_user (its error is above)" \\
            "Fix what it names (often the address of the agent, --source, or the network)," \\
            "then make the user data again, or log in as $jb_user and run install.sh by hand."
    fi
    rm -f "$installer"
    agent=$home/{AGENT_COMMAND}
    jb_say "running jupyter-bootstrap init for $jb_user (the conda download takes minutes)"
    if ! {FIRST_BOOT_ENV}=1 "$agent" "${{jb_agent_args[@]}}" </dev/null; then
        jb_fail "jupyter-bootstrap init stopped before Jupyter was ready (its error is above)" \\
            "Log in as $jb_user and run \\`jupyter-bootstrap status\\`: it says what failed." \\
            "Then \\`jupyter-bootstrap init\\` repairs it (the password is kept)." \\
            "The whole story: $home/{AGENT_LOG}"
    fi
    jb_say "done: Jupyter runs. As $jb_user, \\`jupyter-bootstrap info\\` says how to reach it."
}}

jb_main
"""


def released_install_url() -> Optional[str]:
    """Where install.sh is published, as the package's metadata names it (`[project.urls]
    Installer` in pyproject.toml); None when this build names no such address."""
    from importlib import metadata

    try:
        entries = metadata.metadata("jupyter-bootstrap").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        return None
    for entry in entries:
        label, _, url = str(entry).partition(",")
        if label.strip().lower() == "installer" and url.strip():
            return str(url.strip())
    return None
