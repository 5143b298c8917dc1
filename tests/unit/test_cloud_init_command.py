"""`jupyter-bootstrap cloud-init`: every variant it prints is user data cloud-init takes
(`cloud-init schema` for #cloud-config; a shell script part for --format script), reads
back exactly what was meant (cloud-init's own YAML loader), and runs with every value
arriving as one argument, whatever quotes, `$(...)` or backslashes it holds.

cloud-init's tools come from Debian's `cloud-init` package (.ci/run installs it); its
Python package is used through /usr/bin/python3, whose YAML loader is the one cloud-init
uses at boot.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Optional

import pytest
from click.testing import Result

from jupyter_bootstrap import jupyter_hash, user_data
from tests.support.cli import invoke
from tests.support.require import skip_or_fail

PASSWORD = "first boot correct horse"
HASH = jupyter_hash.hash_password(PASSWORD)
LEGACY_HASH = "sha1:0123456789ab:" + "0" * 40
URL = "https://example.org/jupyter-bootstrap/install.sh"
BASE = ("cloud-init", "--install-url", URL)
SYSTEM_PYTHON = "/usr/bin/python3"
# Every character a shell, YAML or JSON could take for syntax (but a newline: refused).
NASTY = 'it\'s "$(touch PWNED)" `touch PWNED` $HOME \\ \\n #: {a: [b]} & | ; * ? ! % @ -x'
NASTY_SOURCE = f"jupyter-bootstrap @ https://mirror.example/{NASTY}.whl"

# (id, extra arguments, the init flags they must become)
VARIANTS: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    ("defaults", (), ()),
    ("user", ("--user", "admin_1"), ()),
    ("source", ("--source", "jupyter-bootstrap==0.1.0"), ()),
    ("nasty source", ("--source", NASTY_SOURCE), ()),
    (
        "settings",
        (
            "--prefix", "/opt/conda", "--distribution", "miniforge", "--app", "lab",
            "--port", "8443", "--access", "tunnel", "--hostname", "a.example.org",
            "--hostname", "10.0.0.7", "--notebook-dir", f"/home/ubuntu/{NASTY}",
            "--key-type", "rsa", "--service-name", "jupyter-lab", "--no-service",
        ),
        (
            "--prefix", "/opt/conda", "--distribution", "miniforge", "--app", "lab",
            "--port", "8443", "--access", "tunnel", "--hostname", "a.example.org",
            "--hostname", "10.0.0.7", "--notebook-dir", f"/home/ubuntu/{NASTY}",
            "--key-type", "rsa", "--service-name", "jupyter-lab", "--no-service",
        ),
    ),
    ("service", ("--service",), ("--service",)),
    (
        "letsencrypt",
        (
            "--certificate", "letsencrypt", "--acme-directory", "https://ca.example/dir",
            "--acme-ca-bundle", "/etc/ssl/ca.pem", "--acme-tls-alpn-port", "8443",
            "--acme-http-port", "8080",
        ),
        (
            "--certificate", "letsencrypt", "--acme-directory", "https://ca.example/dir",
            "--acme-ca-bundle", "/etc/ssl/ca.pem", "--acme-tls-alpn-port", "8443",
            "--acme-http-port", "8080",
        ),
    ),
    (
        "own certificate",
        ("--certfile", "/etc/ssl/jupyter.pem", "--keyfile", "/etc/ssl/jupyter.key"),
        ("--certfile", "/etc/ssl/jupyter.pem", "--keyfile", "/etc/ssl/jupyter.key"),
    ),
    (
        "conda installer",
        (
            "--installer-url", "https://mirror.example/Miniforge3-Linux-x86_64.sh",
            "--installer-sha256", "a" * 64, "--keep-installer", "--accept-anaconda-tos",
        ),
        (
            "--installer-url", "https://mirror.example/Miniforge3-Linux-x86_64.sh",
            "--installer-sha256", "a" * 64, "--keep-installer", "--accept-anaconda-tos",
        ),
    ),
    (
        "day two",
        (
            "--stop-when-idle", "3h", "--idle-kernel-timeout", "30m", "--env-dir",
            "/srv/envs", "--env-dir", f"/home/ubuntu/{NASTY}", "--no-env-kernels",
        ),
        (
            "--no-env-kernels", "--env-dir", "/srv/envs", "--env-dir", f"/home/ubuntu/{NASTY}",
            "--idle-kernel-timeout", "30m", "--stop-when-idle", "3h",
        ),
    ),
    (
        "run flags",
        ("--force-os", "--force", "--replace-running", "--skip", "shell", "--skip", "renewal"),
        ("--force-os", "--force", "--replace-running", "--skip", "shell", "--skip", "renewal"),
    ),
]  # fmt: skip
FORMATS = user_data.FORMATS


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        skip_or_fail(f"`{tool}` is not installed (apt-get install {tool})")
    assert path is not None
    return path


def system_cloudinit() -> None:
    """cloud-init's Python package, as the boot uses it."""
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import cloudinit.util"], check=False)
    if probe.returncode != 0:
        skip_or_fail("cloud-init's Python package is not installed (apt-get install cloud-init)")


def generate(*args: str, input: Optional[str] = None, code: int = 0) -> Result:
    given = () if "--password-stdin" in args else ("--password-hash", HASH)
    result = invoke(*BASE, *given, *args, input=input)
    assert result.exit_code == code, result.output
    return result


@functools.cache
def _loaded(text: str) -> str:
    """One start of cloud-init's Python per distinct document (the same variant is read by
    several tests): the JSON of what it loads."""
    code = (
        "import json, sys; from cloudinit import util; "
        "print(json.dumps(util.load_yaml(sys.stdin.read())))"
    )
    loaded = subprocess.run(
        [SYSTEM_PYTHON, "-c", code], input=text, capture_output=True, text=True, check=True
    )
    return loaded.stdout


def load_cloud_config(text: str) -> Any:
    """The document as cloud-init reads it at boot."""
    return json.loads(_loaded(text))


def script_body(script: str) -> str:
    """--format script without its first lines (#! and comments): the script runcmd runs."""
    lines = script.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("# shellcheck"))
    return "".join(lines[start:])


@pytest.mark.parametrize("form", FORMATS)
@pytest.mark.parametrize(
    ("extra", "passed"), [v[1:] for v in VARIANTS], ids=[v[0] for v in VARIANTS]
)
def test_cloud_init_takes_every_variant(
    tmp_path: Path, form: str, extra: tuple[str, ...], passed: tuple[str, ...]
) -> None:
    document = generate("--format", form, *extra).stdout
    path = tmp_path / "user-data"
    path.write_text(document)
    assert document.isascii()
    if form == "cloud-config":
        schema = subprocess.run(
            [require("cloud-init"), "schema", "--config-file", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert schema.returncode == 0, schema.stdout + schema.stderr
        assert "Valid cloud-config" in schema.stdout
        return
    # cloud-init's schema is for #cloud-config only; a script is a part of its own kind.
    system_cloudinit()
    kind = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import sys; from cloudinit.handlers import type_from_starts_with;"
         " print(type_from_starts_with(sys.stdin.read()))"],
        input=document, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert kind.stdout.strip() == "text/x-shellscript"
    subprocess.run(["bash", "-n", str(path)], check=True)
    checked = subprocess.run(
        [require("shellcheck"), str(path)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout


@pytest.mark.parametrize(
    ("extra", "passed"), [v[1:] for v in VARIANTS], ids=[v[0] for v in VARIANTS]
)
def test_cloud_config_carries_the_same_script(extra: tuple[str, ...], passed: object) -> None:
    system_cloudinit()
    config = load_cloud_config(generate("--format", "cloud-config", *extra).stdout)
    script = generate("--format", "script", *extra).stdout
    assert list(config) == ["runcmd"]
    [argv] = config["runcmd"]
    assert argv[:2] == ["bash", "-c"] and argv[3:] == ["jupyter-bootstrap-first-boot"]
    assert argv[2] == script_body(script)


# -- what the first boot runs, with stand-ins for curl and the installer -----------------------

FAKE_CURL = r"""#!/bin/bash
# curl -fsSL ... -o FILE URL: writes a stand-in install.sh, or fails like a 404.
out="" url=""
while [ $# -gt 0 ]; do
    case $1 in -o) out=$2; shift ;; -*) ;; *) url=$1 ;; esac
    shift
done
printf '%s' "$url" > "$JB_TEST/curl-url"
[ "${JB_TEST_CURL_FAILS:-}" = 1 ] && { echo "curl: (22) 404 Not Found" >&2; exit 22; }
cat > "$out" <<'EOF'
# install.sh --user NAME: records how it was called, then "installs" an agent that records
# its arguments (one per line, escaped) and the first-boot variable.
printf '%s\n' "$*" > "$JB_TEST/installer-args"
printf '%s' "${JUPYTER_BOOTSTRAP_SOURCE-unset}" > "$JB_TEST/installer-source"
[ "${JB_TEST_INSTALL_FAILS:-}" = 1 ] && { echo "error: pip could not install" >&2; exit 1; }
agent="$JB_TEST/home/.local/share/jupyter-bootstrap/venv/bin/jupyter-bootstrap"
mkdir -p "${agent%/*}"
cat > "$agent" <<'AGENT'
#!/usr/bin/env python3
import json, os, sys
with open(os.environ["JB_TEST"] + "/agent-call", "w") as f:
    first_boot = os.environ.get("JUPYTER_BOOTSTRAP_FIRST_BOOT")
    json.dump({"argv": sys.argv[1:], "first_boot": first_boot}, f)
sys.exit(int(os.environ.get("JB_TEST_AGENT_EXIT", "0")))
AGENT
chmod 755 "$agent"
EOF
"""


def run_first_boot(
    tmp_path: Path, document: str, form: str, **fail: str
) -> subprocess.CompletedProcess[str]:
    """The user data's script run as cloud-init would (runcmd's argv, or the script),
    with curl and getent stand-ins: `ubuntu` lives in tmp_path/home."""
    stubs = tmp_path / "stubs"
    stubs.mkdir(exist_ok=True)
    (stubs / "curl").write_text(FAKE_CURL)
    (stubs / "getent").write_text(
        f'#!/bin/sh\n[ "$2" = ubuntu ] && echo "ubuntu:x:1000:1000::{tmp_path}/home:/bin/bash"\n'
    )
    for stub in stubs.iterdir():
        stub.chmod(0o755)
    env = {
        "PATH": f"{stubs}:{os.environ['PATH']}",
        "JB_TEST": str(tmp_path),
        "LANG": "C.UTF-8",
        **fail,
    }
    if form == "cloud-config":
        [argv] = load_cloud_config(document)["runcmd"]
    else:
        script = tmp_path / "part-001"
        script.write_text(document)
        argv = ["bash", str(script)]
    return subprocess.run(
        argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("form", FORMATS)
@pytest.mark.parametrize(
    ("extra", "passed"), [v[1:] for v in VARIANTS], ids=[v[0] for v in VARIANTS]
)
def test_every_value_arrives_as_given(
    tmp_path: Path, form: str, extra: tuple[str, ...], passed: tuple[str, ...]
) -> None:
    system_cloudinit()
    document = generate("--format", form, *extra).stdout
    user = extra[extra.index("--user") + 1] if "--user" in extra else "ubuntu"
    if user != "ubuntu":
        return  # the getent stand-in knows ubuntu only; its own test below
    ran = run_first_boot(tmp_path, document, form)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert not list(tmp_path.rglob("PWNED")), "a value was run as code"
    assert (tmp_path / "curl-url").read_text() == URL
    assert (tmp_path / "installer-args").read_text() == "--user ubuntu\n"
    source = extra[extra.index("--source") + 1] if "--source" in extra else ""
    assert (tmp_path / "installer-source").read_text() == source
    call = json.loads((tmp_path / "agent-call").read_text())
    assert call["argv"] == ["init", "--user", "ubuntu", "--password-hash", HASH, *passed]
    assert call["first_boot"] == "1"
    assert ran.stdout.rstrip().endswith("`jupyter-bootstrap info` says how to reach it.")


def test_an_unknown_user_stops_with_the_fix(tmp_path: Path) -> None:
    system_cloudinit()
    ran = run_first_boot(tmp_path, generate("--user", "admin").stdout, "cloud-config")
    assert ran.returncode == 1
    assert "FAILED: there is no user admin on this instance" in ran.stderr
    assert not (tmp_path / "curl-url").exists()


@pytest.mark.parametrize(
    ("fail", "said"),
    [
        ({"JB_TEST_CURL_FAILS": "1"}, "FAILED: could not download install.sh from " + URL),
        ({"JB_TEST_INSTALL_FAILS": "1"}, "FAILED: install.sh did not install jupyter-bootstrap"),
        ({"JB_TEST_AGENT_EXIT": "1"}, "FAILED: jupyter-bootstrap init stopped before Jupyter"),
    ],
    ids=["download", "install", "init"],
)
def test_each_failure_says_what_and_what_next(
    tmp_path: Path, fail: dict[str, str], said: str
) -> None:
    system_cloudinit()
    ran = run_first_boot(tmp_path, generate().stdout, "cloud-config", **fail)
    assert ran.returncode == 1
    assert said in ran.stderr, ran.stderr
    if "JB_TEST_AGENT_EXIT" in fail:
        assert "run `jupyter-bootstrap status`: it says what failed." in ran.stderr
        assert "`jupyter-bootstrap init` repairs it (the password is kept)" in ran.stderr


# -- the password ---------------------------------------------------------------------------


def test_the_password_goes_in_only_as_its_argon2_hash() -> None:
    result = generate("--password-stdin", input=PASSWORD + "\n")
    document = result.stdout
    assert PASSWORD not in result.output
    assert "No password is in here, only its argon2 hash" in document
    [made] = [word for word in document.split("'") if word.startswith("argon2:")]
    assert jupyter_hash.verify(made, PASSWORD)
    assert "$m=10240,t=10,p=8$" in made  # Jupyter's own parameters, as init uses


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--password-hash", LEGACY_HASH), "old salted SHA hash"),
        (("--password-hash", "argon2:$argon2id$nope"), "not a valid Jupyter password hash"),
        (("--password-hash", HASH, "--password-stdin"), "exclude each other"),
    ],
)
def test_bad_passwords_are_refused(args: tuple[str, ...], said: str) -> None:
    result = invoke(*BASE, *args, input=PASSWORD + "\n")
    assert result.exit_code == 2
    assert said in result.output
    assert "#cloud-config" not in result.output


def test_without_a_terminal_or_stdin_it_asks_for_a_way_in() -> None:
    result = invoke(*BASE)
    assert result.exit_code == 2
    assert "no terminal to ask for the Jupyter password" in result.output


# -- bad input is refused here, not at first boot --------------------------------------------


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--prefix", "~/miniforge3"), "--prefix '~/miniforge3' must be an absolute path"),
        (("--notebook-dir", "Notebooks"), "must be an absolute path on the instance"),
        (("--hostname", "bad name!"), "--hostname"),
        (("--installer-url", "https://x.example/a.sh"), "--installer-url needs"),
        (("--user", "root"), "--user root is refused"),
        (("--user", "Not A User"), "is not a Linux user name"),
        (("--source", "caf\u00e9"), "--source holds '\u00e9'"),
        (("--source", "a\nb"), "--source holds U+000A"),
        (("--source", "x" * 20000), "EC2 takes at most 16384"),
        (("--install-url", "ftp://x.example/install.sh"), "is not an http(s) URL"),
    ],
)
def test_bad_input_is_refused_before_anything_is_printed(args: tuple[str, ...], said: str) -> None:
    result = invoke(*BASE, "--password-hash", HASH, *args)
    assert result.exit_code == 2, result.output
    assert said in result.output
    assert "#cloud-config" not in result.output


def test_plain_http_is_taken_with_a_warning() -> None:
    result = invoke("cloud-init", "--password-hash", HASH, "--install-url", "http://m.example/i")
    assert result.exit_code == 0
    assert "warning: --install-url is plain http" in result.output
    loopback = invoke("cloud-init", "--password-hash", HASH, "--install-url", "http://127.0.0.1/i")
    assert "warning" not in loopback.output


def test_without_a_published_address_install_url_is_asked_for() -> None:
    if user_data.released_install_url() is not None:
        pytest.skip("this build names where install.sh is published")
    result = invoke("cloud-init", "--password-hash", HASH)
    assert result.exit_code == 2
    assert "--install-url is needed" in result.output
