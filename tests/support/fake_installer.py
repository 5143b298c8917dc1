"""A stand-in for a constructor-built conda installer (Anaconda, Miniconda, Miniforge).

No real installer can be downloaded here, so the tests build one that behaves like the real
thing where the agent can see it:

* `bash INSTALLER -b -p PREFIX` installs; `-u` updates an existing prefix; without `-u` an
  existing prefix is refused with "ERROR: File or directory already exists";
* it leaves `conda-meta/history` (plus conda's own package record), `bin/python`,
  `bin/conda` and, for Anaconda, `bin/jupyter`; Miniforge gets a `.condarc` naming
  conda-forge, Anaconda its metapackage record;
* a random payload follows the script (as constructor's does), so downloads are sizeable.

`bin/python` runs the test environment's Python. Until notebook is "installed" (a
`conda-meta/notebook-*.json` record exists) it runs with `-S`, so the test environment's
site-packages, and with them Jupyter, are invisible: exactly like a fresh Miniconda.

`bin/conda` answers `--version`, `init bash` (conda's `# >>> conda initialize >>>` block in
~/.bashrc, replaced in place on re-runs), `install --yes --prefix P [--override-channels]
[--channel C] PKG...` and `tos accept --override-channels --channel C`. Like conda >= 25.5,
installing from Anaconda's channels fails with CondaToSNonInteractiveError unless the terms
were accepted (or CONDA_PLUGINS_AUTO_ACCEPT_TOS=yes); `has_tos=False` is an older conda
without the `tos` command. Every run of the installer appends its arguments to `counter`;
every conda command that changes something appends a JSON line to
`PREFIX/conda-meta/fake-commands.jsonl`.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pytest

from jupyter_bootstrap import conda as conda_module
from tests.support.installer_server import Behaviour, InstallerServer

MiB = 1024 * 1024
ARCH = os.uname().machine

FAKE_CONDA = r'''
"""conda, as far as jupyter-bootstrap's tests need it (written by the fake installer)."""
import json
import os
import sys
from pathlib import Path

PREFIX = Path(__file__).resolve().parent.parent
VERSION = @VERSION@
HAS_TOS = @HAS_TOS@
FAMILY = @FAMILY@
JUPYTER = @JUPYTER@
DEFAULT_CHANNELS = ["https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r"]
START = "# >>> conda initialize >>>"
END = "# <<< conda initialize <<<"
ACCEPTED = PREFIX / "conda-meta" / "fake-tos-accepted.json"


def record(entry):
    with open(PREFIX / "conda-meta" / "fake-commands.jsonl", "a") as f:
        f.write(json.dumps(entry) + "\n")


def usage_error(text):
    print("usage: conda [-h] [-v] [--no-plugins] [-V] COMMAND ...", file=sys.stderr)
    print("conda: error: " + text, file=sys.stderr)
    return 2


def init(args):
    if args != ["bash"]:
        return usage_error("this conda only knows `init bash`")
    rc = Path(os.environ["HOME"]) / ".bashrc"
    block = "\n".join([
        START,
        "# !! Contents within this block are managed by 'conda init' !!",
        '__conda_setup="$(\'%s/bin/conda\' \'shell.bash\' \'hook\' 2> /dev/null)"' % PREFIX,
        'export PATH="%s/bin:$PATH"' % PREFIX,
        END,
    ])
    text = rc.read_text() if rc.exists() else ""
    if START in text and END in text:
        head, _, rest = text.partition(START)
        new = head + block + rest.partition(END)[2]
    else:
        new = text + ("\n" if text and not text.endswith("\n") else "") + block + "\n"
    if new == text:
        print("no change     " + str(rc))
        return 0
    rc.write_text(new)
    print("modified      " + str(rc))
    record({"command": "init", "bashrc": str(rc)})
    return 0


def accepted():
    return set(json.loads(ACCEPTED.read_text())) if ACCEPTED.exists() else set()


def tos(args):
    if not args or args[0] != "accept":
        return usage_error("this conda only knows `tos accept`")
    channels = [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("--channel", "-c")]
    ACCEPTED.write_text(json.dumps(sorted(accepted() | set(channels))))
    for channel in channels:
        print("accepted Terms of Service for " + channel)
    record({"command": "tos accept", "channels": channels})
    return 0


def install(args):
    yes, override, prefix, channels, packages = False, False, PREFIX, [], []
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-y", "--yes"):
            yes = True
        elif a == "--override-channels":
            override = True
        elif a in ("-p", "--prefix", "-c", "--channel"):
            i += 1
            if a in ("-p", "--prefix"):
                prefix = Path(args[i])
            else:
                channels.append(args[i])
        elif a.startswith("-"):
            return usage_error("unrecognized arguments: " + a)
        else:
            packages.append(a)
        i += 1
    if not yes:
        print("Proceed ([y]/n)?")
        print("CondaSystemExit: non-interactive: no answer", file=sys.stderr)
        return 1
    if not override:
        channels = channels + (["conda-forge"] if FAMILY == "conda-forge" else ["defaults"])
    anaconda = [c for c in channels if c == "defaults" or c.startswith("https://repo.anaconda")]
    auto = os.environ.get("CONDA_PLUGINS_AUTO_ACCEPT_TOS") == "yes"
    if HAS_TOS and anaconda and not auto and not set(DEFAULT_CHANNELS) <= accepted():
        print("CondaToSNonInteractiveError: Terms of Service have not been accepted for "
              "the following channels: " + ", ".join(DEFAULT_CHANNELS), file=sys.stderr)
        return 1
    versions = {"notebook": "7.0.0", "jupyterlab": "4.0.0"}
    for package in packages:
        if package not in versions:
            print("PackagesNotFoundError: " + package, file=sys.stderr)
            return 1
    for package in packages:
        meta = prefix / "conda-meta" / ("%s-%s-fake_0.json" % (package, versions[package]))
        meta.write_text("{}\n")
    jupyter = prefix / "bin" / "jupyter"
    jupyter.write_text("#!/bin/sh\nexec %s \"$@\"\n" % JUPYTER)
    jupyter.chmod(0o755)
    print("Executing transaction: done")
    record({"command": "install", "packages": packages, "channels": channels,
            "override": override, "auto_accept_tos": auto})
    return 0


def main(argv):
    if not argv:
        return usage_error("a command is required")
    command, args = argv[0], argv[1:]
    if command in ("--version", "-V"):
        print("conda " + VERSION)
        return 0
    if command == "init":
        return init(args)
    if command == "install":
        return install(args)
    if command == "tos" and HAS_TOS:
        return tos(args)
    return usage_error("argument COMMAND: invalid choice: %r" % command)


sys.exit(main(sys.argv[1:]))
'''

PYTHON_WRAPPER = """#!/bin/sh
# The test environment's Python; its site-packages (Jupyter) only once notebook is installed.
meta="$(dirname "$0")/../conda-meta"
for installed in "$meta"/notebook-*.json "$meta"/jupyterlab-*.json; do
    if [ -e "$installed" ]; then exec @PYTHON@ "$@"; fi
done
exec @PYTHON@ -S "$@"
"""

CONDA_WRAPPER = """#!/bin/sh
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/python" "$here/../lib/fake_conda.py" "$@"
"""

INSTALLER = """#!/bin/bash
# A stand-in for a constructor-built conda installer, generated by jupyter-bootstrap's tests.
set -eu
BATCH=0
UPDATE=0
PREFIX="$HOME/@DEFAULT_DIR@"
while getopts "bhp:u" opt; do
    case "$opt" in
        b) BATCH=1 ;;
        p) PREFIX="$OPTARG" ;;
        u) UPDATE=1 ;;
        h) echo "usage: $0 [-b] [-p PREFIX] [-u]"; exit 2 ;;
        *) exit 2 ;;
    esac
done
@COUNT@
if [ "$BATCH" != 1 ]; then
    echo "this test installer only runs in batch mode (-b)" >&2
    exit 2
fi
if [ "$UPDATE" = 0 ] && [ -e "$PREFIX" ]; then
    echo "ERROR: File or directory already exists: '$PREFIX'" >&2
    echo "If you want to update an existing installation, use the -u option." >&2
    exit 1
fi
mkdir -p "$PREFIX"
PREFIX="$(cd "$PREFIX" && pwd)"
echo "PREFIX=$PREFIX"
echo "Unpacking payload ..."
i=1
while [ "$i" -le 30 ]; do
    echo "  extracting pkgs/fake-package-$i-1.0-0.conda"
    i=$((i + 1))
done
@FAIL@
mkdir -p "$PREFIX/bin" "$PREFIX/lib" "$PREFIX/conda-meta" "$PREFIX/pkgs"
cat > "$PREFIX/bin/python" <<'FAKE_EOF'
@PYTHON_WRAPPER@FAKE_EOF
cat > "$PREFIX/bin/conda" <<'FAKE_EOF'
@CONDA_WRAPPER@FAKE_EOF
cat > "$PREFIX/lib/fake_conda.py" <<'FAKE_EOF'
@FAKE_CONDA@FAKE_EOF
chmod 755 "$PREFIX/bin/python" "$PREFIX/bin/conda"
printf '==> %s <==\\n# cmd: %s\\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$0 $*" \\
    >> "$PREFIX/conda-meta/history"
echo '{}' > "$PREFIX/conda-meta/conda-@CONDA_VERSION@-fake_0.json"
@EXTRA@
echo "installation finished."
exit 0
"""

DEFAULT_DIRS = {"anaconda": "anaconda3", "miniconda": "miniconda3", "miniforge": "miniforge3"}


@dataclass(frozen=True)
class FakeInstaller:
    distribution: str = "miniconda"
    counter: Optional[Path] = None  # each run appends its arguments here
    conda_version: str = "24.9.2"
    has_tos: bool = True
    fail: bool = False  # print its usual output, then fail like a full disk would
    payload_size: int = 2 * MiB
    seed: int = 0  # a different seed: same behaviour, different bytes (and hash)
    python: str = sys.executable
    jupyter: str = str(Path(sys.executable).parent / "jupyter")

    def script(self) -> str:
        fake_conda = FAKE_CONDA
        for key, value in {
            "@VERSION@": repr(self.conda_version),
            "@HAS_TOS@": repr(self.has_tos),
            "@FAMILY@": repr("conda-forge" if self.distribution == "miniforge" else "defaults"),
            "@JUPYTER@": repr(shlex.quote(self.jupyter)),
        }.items():
            fake_conda = fake_conda.replace(key, value)
        count = ""
        if self.counter is not None:
            count = f'printf "%s\\n" "$*" >> {shlex.quote(str(self.counter))}'
        fail = ""
        if self.fail:
            fail = 'echo "CondaError: [Errno 28] No space left on device" >&2\nexit 1'
        text = INSTALLER
        for key, value in {
            "@DEFAULT_DIR@": DEFAULT_DIRS[self.distribution],
            "@COUNT@": count,
            "@FAIL@": fail,
            "@PYTHON_WRAPPER@": PYTHON_WRAPPER.replace("@PYTHON@", shlex.quote(self.python)),
            "@CONDA_WRAPPER@": CONDA_WRAPPER,
            "@FAKE_CONDA@": fake_conda.lstrip("\n"),
            "@CONDA_VERSION@": self.conda_version,
            "@EXTRA@": self._extra(),
        }.items():
            text = text.replace(key, value)
        return text

    def _extra(self) -> str:
        if self.distribution == "miniforge":
            return "printf 'channels:\\n  - conda-forge\\n' > \"$PREFIX/.condarc\""
        if self.distribution == "anaconda":
            jupyter = shlex.quote(f'#!/bin/sh\nexec {shlex.quote(self.jupyter)} "$@"\n')
            return "\n".join(
                [
                    "echo '{}' > \"$PREFIX/conda-meta/anaconda-2024.10-fake_0.json\"",
                    "echo '{}' > \"$PREFIX/conda-meta/notebook-7.0.0-fake_0.json\"",
                    "echo '{}' > \"$PREFIX/conda-meta/jupyterlab-4.0.0-fake_0.json\"",
                    f'printf %s {jupyter} > "$PREFIX/bin/jupyter"',
                    'chmod 755 "$PREFIX/bin/jupyter"',
                ]
            )
        return ""

    def build(self) -> bytes:
        payload = random.Random(self.seed).randbytes(self.payload_size)
        return self.script().encode() + b"@@END_HEADER@@\n" + payload


def miniforge_using(prefix: str) -> bytes:
    """A small Miniforge stand-in whose Python and `jupyter` are those of `prefix`, a
    Jupyter environment the e2e image already holds (no conda packages to install)."""
    return FakeInstaller(
        distribution="miniforge",
        python=f"{prefix}/bin/python",
        jupyter=f"{prefix}/bin/jupyter",
        payload_size=256 * 1024,
    ).build()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def installer_runs(counter: Path) -> list[str]:
    """The argument lists of every run of the fake installer, in order."""
    return counter.read_text().splitlines() if counter.exists() else []


def conda_commands(prefix: Path) -> list[dict[str, Any]]:
    path = prefix / "conda-meta" / "fake-commands.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def hide_host_conda(monkeypatch: pytest.MonkeyPatch) -> None:
    """The agent must only see the conda the test makes: no $CONDA_EXE, no conda on PATH,
    no /opt/conda, and only loopback for HTTP."""
    monkeypatch.delenv("CONDA_EXE", raising=False)
    monkeypatch.setenv("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
    monkeypatch.setattr(conda_module, "SYSTEM_PREFIXES", ())
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")


@dataclass
class InstallerSite:
    """A loopback server standing in for every publisher (archive, Miniconda, Miniforge),
    with the environment pointed at it, and a place to install into."""

    server: InstallerServer
    root: Path
    counter: Path = field(init=False)

    def __post_init__(self) -> None:
        self.counter = self.root / "installer-runs.txt"

    def prefix(self, name: str = "miniconda3") -> Path:
        return self.root / "opt" / name

    def publish(
        self,
        path: str,
        behaviour: Optional[Behaviour] = None,
        **options: Any,
    ) -> tuple[str, str, bytes]:
        """Serve a fake installer at `path`; returns (url, sha256, bytes)."""
        options.setdefault("counter", self.counter)
        data = FakeInstaller(**options).build()
        url = self.server.add(path, data, behaviour)
        return url, sha256(data), data

    def publish_default(
        self, distribution: str, behaviour: Optional[Behaviour] = None, **options: Any
    ) -> tuple[str, str, bytes]:
        """Serve a fake at the publisher's default name, with its hash where the publisher
        lists it (an index page, or `<asset>.sha256` for Miniforge)."""
        from jupyter_bootstrap.conda_installers import default_filename

        name = default_filename(distribution, ARCH)
        base = {"anaconda": "/archive/", "miniconda": "/miniconda/", "miniforge": "/miniforge/"}
        url, digest, data = self.publish(
            base[distribution] + name, behaviour, distribution=distribution, **options
        )
        if distribution == "miniforge":
            self.server.add(f"/miniforge/{name}.sha256", f"{digest}  {name}\n".encode())
        else:
            self.server.add(base[distribution], index_page({name: digest}).encode())
        return url, digest, data

    def runs(self) -> list[str]:
        return installer_runs(self.counter)

    def gets(self) -> int:
        """How many installer downloads (GETs of a .sh file) the server has answered."""
        return len([r for r in self.server.requests(method="GET") if r.path.endswith(".sh")])


def index_page(files: dict[str, str]) -> str:
    """An index page shaped like repo.anaconda.com/archive/ (Filename, Size, Last Modified,
    SHA256)."""
    rows = "".join(
        f'    <tr>\n      <td><a href="{name}">{name}</a></td>\n      <td class="s">1.0G</td>\n'
        f"      <td>2024-10-23 10:02:02</td>\n      <td>{digest}</td>\n    </tr>\n"
        for name, digest in files.items()
    )
    return (
        "<html><head><title>Index</title></head><body>\n<table>\n    <tr>\n"
        "      <th>Filename</th>\n      <th>Size</th>\n      <th>Last Modified</th>\n"
        f"      <th>SHA256</th>\n    </tr>\n{rows}</table>\n</body></html>\n"
    )


@contextmanager
def installer_site(root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InstallerSite]:
    """A machine without conda whose publishers are a loopback server (use with `home`)."""
    hide_host_conda(monkeypatch)
    with InstallerServer() as server:
        for env, path in (
            ("JUPYTER_BOOTSTRAP_ANACONDA_ARCHIVE_URL", "/archive/"),
            ("JUPYTER_BOOTSTRAP_MINICONDA_URL", "/miniconda/"),
            ("JUPYTER_BOOTSTRAP_MINIFORGE_URL", "/miniforge/"),
        ):
            monkeypatch.setenv(env, server.url(path))
        yield InstallerSite(server, root)
