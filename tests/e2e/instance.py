"""A real systemd "instance" for end-to-end tests: Debian booted as PID 1 in namespaces.

How it works:

* A Debian root file system (bookworm unless a test asks for another of :data:`RELEASES`) is
  made once per release with ``debootstrap --variant=minbase`` and cached as a tarball
  (``$JUPYTER_BOOTSTRAP_E2E_CACHE`` or ``~/.cache/jupyter-bootstrap-e2e``), keyed by a hash
  of everything that shapes it, the release included. Like a stock Ubuntu cloud image it has
  ``python3`` but **no** ``python3-venv`` (``python3 -m venv`` fails) and empty apt lists.
* Each :class:`SystemdInstance` unpacks a fresh copy into a temporary directory, makes it look
  like a cloud instance (login user ``ubuntu``, uid 1000, passwordless sudo; the host's CA
  bundle; a hostname) and boots ``/lib/systemd/systemd`` as PID 1 of new PID, mount, UTS, IPC
  and cgroup namespaces (``unshare``), chrooted into that directory.
* Commands run inside with ``nsenter``; as ``ubuntu`` they go through a login shell
  (``su - ubuntu -c``), so ``~/.profile`` and ``/etc/environment`` are read as in an SSH
  (PuTTY) session.
* The **network namespace is the host's**: a server inside listening on 127.0.0.1:PORT is
  reachable from the test on 127.0.0.1:PORT, and it competes with the host (and with other
  instances) for ports. Tests must pick a free port (tests/support/net.py: free_port) and
  pass it to what they start, and must not assume 8888 is free.

What keeps the host clean:

* every mount is made inside the new mount namespace (private propagation), so it vanishes
  with the namespace; nothing is ever mounted in the host's namespace;
* ``/proc/sys``, ``/proc/sysrq-trigger`` and ``/sys`` are read-only inside, so units such as
  ``systemd-sysctl`` skip instead of changing the shared kernel; ``/dev`` is a small tmpfs
  (null, zero, random, ..., a private devpts), not the host's ``/dev``;
* systemd gets its own cgroup2 subtree (a cgroup namespace rooted at a cgroup made for this
  boot), so it never reorganises the host's cgroups, and ``cgroup.kill`` ends every process;
* ``setpriv --pdeathsig`` and ``unshare --kill-child`` make the instance die with the test
  process even when that is killed with SIGKILL. (The kernel ties that to the *thread*
  that started it: boot instances from the main thread, not from a short-lived one.) The
  next session removes what such a killed session left (:func:`remove_stale_leftovers`).

Set ``JUPYTER_BOOTSTRAP_E2E_KEEP=1`` to keep the instance's directory after the tests (its
console log is ``console.log`` there).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import pty
import re
import select
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import tty
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Callable, NoReturn, Optional, Union

from tests.support.require import skip_or_fail

CACHE_ENV = "JUPYTER_BOOTSTRAP_E2E_CACHE"
MIRROR_ENV = "JUPYTER_BOOTSTRAP_E2E_MIRROR"
KEEP_ENV = "JUPYTER_BOOTSTRAP_E2E_KEEP"

SUITE = "bookworm"
# The releases an instance can be booted from, with what they bring that the agent depends
# on: their python3 and systemd span the oldest and newest the agent supports.
RELEASES = {
    "bullseye": {"debian": "11", "python": "3.9", "systemd": "247"},
    "bookworm": {"debian": "12", "python": "3.11", "systemd": "252"},
    "trixie": {"debian": "13", "python": "3.13", "systemd": "257"},
}
DEFAULT_MIRROR = "http://deb.debian.org/debian"
# What a stock Ubuntu cloud image has that the agent relies on, minus python3-venv (Ubuntu
# ships without ensurepip and the installer must cope with that). procps and iproute2 give
# tests ps/pgrep and ss.
BASE_PACKAGES: tuple[str, ...] = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "python3",
    "curl",
    "ca-certificates",
    "sudo",
    "procps",
    "iproute2",
)
# Bump when the way the tarball is made changes, so old caches are not reused.
BASE_RECIPE_VERSION = 1

# Host commands this module runs, with the Debian package that has each.
REQUIRED_TOOLS = {
    "debootstrap": "debootstrap",
    "unshare": "util-linux",
    "nsenter": "util-linux",
    "setpriv": "util-linux",
    "chroot": "coreutils",
    "tar": "tar",
    "zstd": "zstd",
}

LOGIN_USER = "ubuntu"
LOGIN_UID = 1000
HOSTNAME = "jb-e2e"
INSTANCE_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
HOST_EXTRA_CAS = Path("/usr/local/share/ca-certificates")
# Download caches kept on the host (under cache_dir()) and bind-mounted inside, writable
# by the login user, so repeated runs do not download again:
# - a wheelhouse that make_venv() fills with `pip download` and installs from offline;
# - a directory for PIP_CACHE_DIR. Mind that pip's HTTP cache stays empty on these machines
#   (the egress proxy drops the caching headers); it does keep wheels built from sdists.
INSTANCE_WHEELHOUSE = "/var/cache/jb-e2e-wheels"
INSTANCE_PIP_CACHE = "/var/cache/jb-e2e-pip"
SHARED_CACHES = {"wheels": INSTANCE_WHEELHOUSE, "pip": INSTANCE_PIP_CACHE}
INSTANCE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Host variables that point TLS clients at the host's CA bundle. On these machines outgoing
# TLS passes through an intercepting proxy whose CA is only in that bundle, so the instance
# gets the same variables (pointing at its copy of the bundle) in /etc/environment.
CA_ENV_VARS = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "PIP_CERT")
# Host variables copied as they are (how pip and proxies are reached), unless they name
# something that only exists on the host (a file:// index, a local path).
PASSTHROUGH_ENV_VARS = (
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_TRUSTED_HOST",
    "PIP_DEFAULT_TIMEOUT",
    "PIP_DISABLE_PIP_VERSION_CHECK",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
)

# Units that are enabled in the debootstrapped image but only add noise or nondeterminism to
# a test machine: timers that would start apt or scrubbers in the middle of a test, and
# units about hardware that a namespace does not have. Masked, so nothing can pull them in.
# Capabilities that nothing inside may have, because the kernel and the network namespace
# are the host's (what systemd-nspawn drops without --private-network): loading modules,
# setting the clock, raw I/O, network configuration. Units that need them skip (e.g.
# modprobe@*.service, systemd-modules-load).
DROPPED_CAPS = ("sys_module", "sys_rawio", "sys_time", "wake_alarm", "net_admin")
BOUNDING_SET = ",".join(f"-{cap}" for cap in DROPPED_CAPS)

MASKED_UNITS = (
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "dpkg-db-backup.timer",
    "e2scrub_all.timer",
    "e2scrub_reap.service",
    "fstrim.timer",
    "systemd-pstore.service",
    # The getty generator adds a login prompt on the container console: it would only
    # fill the console log.
    "console-getty.service",
    "getty@tty1.service",
)

# Mounts systemd expects, made inside the new mount namespace before exec'ing it. Runs as
# PID 1 of the new PID namespace: $1 is the root, $2 the pty slave that becomes
# /dev/console (its output is the console log), then pairs HOST_DIR INSIDE_DIR to bind.
BOOT_SCRIPT = r"""
set -eu
root=$1
console=$2
shift 2
mount --bind "$root" "$root"
mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
# Read-only like in any container: systemd-sysctl, binfmt and friends then skip instead of
# changing the kernel that the host shares with us.
for p in sys sysrq-trigger; do
    [ -e "$root/proc/$p" ] || continue
    mount --bind "$root/proc/$p" "$root/proc/$p"
    mount -o remount,bind,ro "$root/proc/$p"
done
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$root/sys"
# Mounted inside the cgroup namespace, so its root is the cgroup made for this boot.
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$root/sys/fs/cgroup"
mount -t tmpfs -o mode=0755,nosuid,size=16m dev "$root/dev"
# Fresh nodes, never the host's: a chmod or chown inside would reach a bound host node.
node() { mknod -m 0666 "$root/dev/$1" c "$2" "$3"; }
node null 1 3; node zero 1 5; node full 1 7; node random 1 8; node urandom 1 9; node tty 5 0
mkdir -p "$root/dev/pts" "$root/dev/shm" "$root/dev/mqueue"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts "$root/dev/pts"
ln -s pts/ptmx "$root/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev shm "$root/dev/shm"
mount -t mqueue -o nosuid,nodev,noexec mqueue "$root/dev/mqueue"
ln -s /proc/self/fd "$root/dev/fd"
ln -s /proc/self/fd/0 "$root/dev/stdin"
ln -s /proc/self/fd/1 "$root/dev/stdout"
ln -s /proc/self/fd/2 "$root/dev/stderr"
: > "$root/dev/console"
mount --bind "$console" "$root/dev/console"
mount -t tmpfs -o mode=0755,nosuid,nodev run "$root/run"
mount -t tmpfs -o mode=1777,nosuid,nodev tmp "$root/tmp"
while [ $# -ge 2 ]; do
    mount --bind "$1" "$root$2"
    shift 2
done
caps=$JB_E2E_DROP_CAPS
unset JB_E2E_DROP_CAPS  # not for systemd's environment
exec setpriv --bounding-set "$caps" -- \
    chroot "$root" /lib/systemd/systemd --system --unit=multi-user.target
"""


# Run inside by write_file() and copy_in(): makes the missing directories above a file
# (or up to and including a directory) owned by the given user.
MAKE_PARENTS = r"""
import os, pwd, sys
path, owner, kind = sys.argv[1:4]
user = pwd.getpwnam(owner)
missing = []
directory = path if kind == "dir" else os.path.dirname(path)
while directory and not os.path.isdir(directory):
    missing.append(directory)
    directory = os.path.dirname(directory)
for directory in reversed(missing):
    os.mkdir(directory)
    os.chown(directory, user.pw_uid, user.pw_gid)
"""


class InstanceError(RuntimeError):
    """The instance could not be built, booted or cleaned up."""


class InstanceCommandError(subprocess.CalledProcessError):
    """A command inside the instance failed; its message carries the output."""

    def __str__(self) -> str:
        out = _tail(self.stdout or "", 40)
        err = _tail(self.stderr or "", 40)
        return f"{super().__str__()}\n--- stdout ---\n{out}\n--- stderr ---\n{err}"


def missing_prerequisites() -> list[str]:
    """Why a systemd instance cannot be booted here (empty when it can)."""
    reasons = []
    if os.geteuid() != 0:
        reasons.append("e2e tests need root (namespaces, mounts, chroot)")
    for tool, package in REQUIRED_TOOLS.items():
        if shutil.which(tool) is None:
            reasons.append(f"e2e tests need `{tool}` on PATH (apt-get install {package})")
    if _cgroup2_mount() is None:
        reasons.append("e2e tests need a cgroup2 (unified) hierarchy mounted")
    return reasons


def ensure_prerequisites() -> None:
    """Skip (or, when required, fail) the calling test if an instance cannot be booted."""
    reasons = missing_prerequisites()
    if reasons:
        skip_or_fail("; ".join(reasons))


def wait_for_tcp(port: int, host: str = "127.0.0.1", timeout: float = 30.0) -> None:
    """Wait until something accepts TCP connections on host:port (raise TimeoutError)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=1.0):
                return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s") from exc
            time.sleep(0.1)


def cache_dir() -> Path:
    """Where base tarballs and download caches live (created on demand)."""
    configured = os.environ.get(CACHE_ENV)
    path = Path(configured) if configured else Path.home() / ".cache" / "jupyter-bootstrap-e2e"
    path.mkdir(parents=True, exist_ok=True)
    return path


def base_tarball(
    packages: Sequence[str] = BASE_PACKAGES,
    cache: Optional[Path] = None,
    mirror: Optional[str] = None,
    release: str = SUITE,
) -> Path:
    """The cached root file system tarball of `release` for `packages`, made with debootstrap
    if missing.

    Concurrent callers (parallel test sessions) wait on a lock instead of building twice.
    """
    if release not in RELEASES:
        raise InstanceError(f"unknown Debian release {release!r} (known: {', '.join(RELEASES)})")
    cache = cache or cache_dir()
    mirror = mirror or os.environ.get(MIRROR_ENV) or DEFAULT_MIRROR
    key = _base_key(packages, mirror, release)
    tarball = cache / f"debian-{release}-minbase-{key}.tar.zst"
    if tarball.exists():
        return tarball
    with _locked(cache / f"debian-{release}-minbase-{key}.lock"):
        if not tarball.exists():
            _build_base_tarball(tarball, packages, mirror, release)
    return tarball


class SystemdInstance:
    """A throw-away Debian machine with systemd as PID 1, the login user and passwordless sudo.

    Use as a context manager, or call :meth:`start` and (always) :meth:`shutdown`.
    """

    def __init__(
        self,
        workdir: Optional[Path] = None,
        hostname: str = HOSTNAME,
        tarball: Optional[Path] = None,
        before_first_boot: Optional[Callable[[Path], None]] = None,
        release: str = SUITE,
    ) -> None:
        """`before_first_boot` is called with the root once it is unpacked and made to look
        like a cloud instance, before systemd first starts in it: what a cloud puts in place
        before power-on (e.g. a cloud-init seed). `release` picks the base image when no
        `tarball` is given."""
        # The test process's PID in the names lets a later session clean up after one
        # that was killed (see remove_stale_leftovers).
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix=f"jb-e2e-{os.getpid()}-"))
        self.root = self.workdir / "root"
        self.console_log = self.workdir / "console.log"
        self.hostname = hostname
        self.boots = 0
        self._tarball = tarball
        self._before_first_boot = before_first_boot
        self.release = release
        self._unshare: Optional[subprocess.Popen[bytes]] = None
        self._pid: Optional[int] = None
        self._cgroup: Optional[Path] = None
        self._console: Optional[_ConsoleReader] = None

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> SystemdInstance:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    @property
    def pid(self) -> int:
        """Host PID of the instance's systemd (PID 1 inside)."""
        if self._pid is None:
            raise InstanceError("the instance is not running")
        return self._pid

    def start(self, timeout: float = 60.0) -> None:
        """Unpack a fresh root, prepare it like a cloud instance and boot it."""
        remove_stale_leftovers()
        tarball = self._tarball or base_tarball(release=self.release)
        try:
            self.root.mkdir(parents=True)
            # Numeric owners: the host may map user and group names to other ids.
            _run_host(
                [
                    "tar",
                    "--zstd",
                    "--numeric-owner",
                    "--xattrs",
                    "-xpf",
                    str(tarball),
                    "-C",
                    str(self.root),
                ]
            )
            self._prepare_root()
            if self._before_first_boot is not None:
                self._before_first_boot(self.root)
            self.boot(timeout)
        except BaseException:
            self.shutdown()
            raise

    def boot(self, timeout: float = 60.0) -> None:
        """Boot the root (again) and wait until systemd says running or degraded."""
        if self._unshare is not None:
            raise InstanceError("already booted: call reboot() or power_off() first")
        self.boots += 1
        self._cgroup = _make_boot_cgroup(f"jb-e2e-{os.getpid()}-{id(self):x}-{self.boots}")
        self._console = _ConsoleReader(self.console_log, self.boots)
        boot_script = self.workdir / "boot.sh"
        boot_script.write_text(BOOT_SCRIPT)
        env = {
            "PATH": INSTANCE_PATH,
            # The container interface: systemd adapts (no udev, no getty on tty1, ...).
            "container": "jupyter-bootstrap-e2e",
            "SYSTEMD_COLORS": "0",
            "TERM": "dumb",
            "JB_E2E_DROP_CAPS": BOUNDING_SET,
        }
        argv = [
            # Dies with the test process (even on SIGKILL) ...
            "setpriv", "--pdeathsig", "KILL", "--",
            # ... after moving itself into the cgroup made for this boot ...
            "sh", "-c", 'echo $$ > "$1" && shift && exec "$@"', "sh",
            str(self._cgroup / "cgroup.procs"),
            # ... and takes PID 1 of the new namespaces with it.
            "unshare", "--pid", "--fork", "--kill-child=SIGKILL", "--mount",
            "--propagation", "private", "--uts", "--ipc", "--cgroup",
            "sh", str(boot_script), str(self.root), self._console.slave_name,
            *self._shared_cache_binds(),
        ]  # fmt: skip
        self._unshare = subprocess.Popen(
            argv,
            env=env,
            cwd="/",
            stdin=subprocess.DEVNULL,
            stdout=self._console.log_fd,
            stderr=self._console.log_fd,
        )
        self._pid = self._find_systemd(timeout)
        self.wait_until_running(timeout)

    def wait_until_running(self, timeout: float = 60.0) -> str:
        """Wait until `systemctl is-system-running` says running or degraded; return it."""
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            self._check_alive()
            result = self.run(["systemctl", "is-system-running"], check=False, timeout=10)
            state = result.stdout.strip()
            if state in ("running", "degraded"):
                return state
            # "offline" only means systemctl could not reach the manager: right after
            # exec it may not listen yet (seen here under load). A PID 1 that died is
            # caught by _check_alive; one that never answers, by the deadline.
            if state in ("maintenance", "stopping"):
                break
            time.sleep(0.1)
        self._fail_boot(f"systemd did not finish booting (is-system-running: {state!r})")

    def reboot(self, timeout: float = 60.0, clean: bool = False) -> None:
        """Boot the same root again, after a hard reset (default) or `systemctl reboot`.

        The hard reset kills PID 1 and with it everything inside, like pulling the plug
        (files written so far are kept: they are on the host's disk). A clean reboot stops
        every unit first, as the real command would: use it to see services shut down.
        """
        if clean and self._unshare is not None:
            unshare = self._unshare
            self.run(["systemctl", "reboot", "--no-block"])
            try:
                # systemd stops the units, then its reboot(2) ends the PID namespace.
                unshare.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._fail_boot(f"`systemctl reboot` did not finish in {timeout}s")
        self.power_off()
        self.boot(timeout)

    def powered_off_by_itself(self, timeout: float) -> bool:
        """Whether the instance powers itself off (a `systemctl poweroff` inside: its PID 1
        exits, and the namespaces with it) within `timeout` seconds. Call power_off() after
        it did, to tidy up, and boot() to start it again."""
        if self._unshare is None:
            raise InstanceError("the instance is not running")
        try:
            self._unshare.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        if self._console is not None:
            self._console.note("PID 1 exited by itself (powered off from inside)")
        return True

    def power_off(self) -> None:
        """Kill every process of the instance and wait until its namespaces are gone."""
        alive = self._unshare is not None and self._unshare.poll() is None
        if self._console is not None and alive:
            # unshare then reports "sigprocmask unblock failed": it cannot re-raise SIGKILL.
            self._console.note("power off: SIGKILL to PID 1")
        if self._pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
        if self._unshare is not None:
            try:
                self._unshare.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._unshare.kill()
                self._unshare.wait(timeout=30)
        if self._cgroup is not None:
            # Anything still in the boot's cgroup (commands that nsenter started) goes too.
            _remove_cgroup(self._cgroup)
        if self._console is not None:
            self._console.close()
        self._unshare = None
        self._pid = None
        self._cgroup = None
        self._console = None

    def shutdown(self) -> None:
        """Power off and delete everything (the workdir is kept if JB..._E2E_KEEP=1)."""
        try:
            self.power_off()
        finally:
            _release_mounts_under(self.workdir)
            if os.environ.get(KEEP_ENV) == "1":
                print(f"keeping the e2e instance at {self.workdir}")
            else:
                shutil.rmtree(self.workdir, ignore_errors=True)

    # -- running things inside -------------------------------------------------------

    def run(
        self,
        cmd: Union[str, Sequence[str]],
        user: str = "root",
        check: bool = True,
        input: Union[str, bytes, None] = None,
        timeout: float = 120.0,
        env: Optional[Mapping[str, str]] = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run `cmd` inside (a string goes to bash -c) as root, or as the user via a login shell.

        As a non-root user the command runs under ``su - USER -c``, so ``~/.profile`` and
        ``/etc/environment`` are read like in an SSH session and ``env`` is exported first.
        Returns stdout/stderr as text; raises :class:`InstanceCommandError` when `check`
        and the exit status is not 0, TimeoutExpired after killing the whole command.
        """
        argv = self._nsenter_argv(self._inside_argv(cmd, user, env))
        data = input.encode() if isinstance(input, str) else input
        proc = subprocess.Popen(
            argv,
            env=_clean_env(env if user == "root" else None),
            cwd="/",
            stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            out, err = proc.communicate(data, timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_tree(proc.pid)
            out, err = proc.communicate()
            raise subprocess.TimeoutExpired(argv, timeout, out, err) from None
        result = subprocess.CompletedProcess(
            argv, proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")
        )
        if check and result.returncode != 0:
            raise InstanceCommandError(result.returncode, cmd, result.stdout, result.stderr)
        return result

    def write_file(
        self,
        path: str,
        data: Union[str, bytes],
        owner: str = "root",
        mode: int = 0o644,
    ) -> None:
        """Write `data` to `path` inside, owned by `owner` and its group, with `mode`.

        Missing parent directories are made owned by `owner` too, as if that user had made
        them (a root-owned ~/certs would be a trap for the agent's checks).
        """
        payload = data.encode() if isinstance(data, str) else data
        script = (
            'python3 -c "$4" "$1" "$2" file && cat > "$1" && chown -- "$2:" "$1" && chmod "$3" "$1"'
        )
        self.run(["sh", "-c", script, "sh", path, owner, f"{mode:o}", MAKE_PARENTS], input=payload)

    def read_file(self, path: str, user: str = "root") -> str:
        """The text of `path` inside, read as `user`."""
        return self.run(f"cat -- {shlex.quote(path)}", user=user).stdout

    def copy_in(
        self,
        host_path: Union[str, Path],
        path: str,
        owner: str = "root",
        mode: Optional[int] = None,
    ) -> None:
        """Copy a host file or directory to `path` inside, owned (recursively) by `owner`."""
        source = Path(host_path)
        if source.is_dir():
            archive = _run_host(["tar", "-C", str(source), "-cf", "-", "."]).stdout
            script = (
                'python3 -c "$3" "$1" "$2" dir && tar -C "$1" --no-same-owner -xf -'
                ' && chown -R -- "$2:" "$1"'
            )
            self.run(["sh", "-c", script, "sh", path, owner, MAKE_PARENTS], input=archive)
            if mode is not None:
                self.run(["chmod", f"{mode:o}", "--", path])
        else:
            file_mode = mode if mode is not None else source.stat().st_mode & 0o7777
            self.write_file(path, source.read_bytes(), owner=owner, mode=file_mode)

    def system_state(self) -> str:
        """What `systemctl is-system-running` says now."""
        return self.run(["systemctl", "is-system-running"], check=False).stdout.strip()

    def failed_units(self) -> list[str]:
        """Names of the units in the failed state."""
        out = self.run(
            ["systemctl", "list-units", "--state=failed", "--plain", "--no-legend", "--all"],
            check=False,
        ).stdout
        return [line.split()[0] for line in out.splitlines() if line.strip()]

    def journal(self, unit: Optional[str] = None, lines: int = 200) -> str:
        """The journal of this boot (of one unit if given), for error messages."""
        cmd = ["journalctl", "-b", "--no-pager", "-n", str(lines)]
        if unit:
            cmd += ["-u", unit]
        return self.run(cmd, check=False).stdout

    # -- Python environments ------------------------------------------------------------

    def ensure_venv_support(self) -> None:
        """Install python3-venv with apt inside (as a user would), unless it is there."""
        if self.run(["python3", "-c", "import ensurepip"], check=False).returncode == 0:
            return
        self.apt_install(["python3-venv"])

    def apt_install(self, packages: Sequence[str], timeout: float = 600.0) -> None:
        """`apt-get update` and `apt-get install` of `packages` inside, as root."""
        # Cached .deb files make the install cost only the `apt-get update` (a few seconds).
        # The archive directory is a plain directory of the root, so the host copies
        # directly (checked, so that a symlink cannot lead the copy out of the root).
        cached = cache_dir() / "apt-archives"
        cached.mkdir(exist_ok=True)
        archives = _inside_root(self.root, "var/cache/apt/archives")
        for deb in cached.glob("*.deb"):
            shutil.copy2(deb, archives / deb.name)
        self.run(
            "apt-get update -q && apt-get install -y -q --no-install-recommends "
            + shlex.join(packages),
            env={"DEBIAN_FRONTEND": "noninteractive"},
            timeout=timeout,
        )
        for deb in archives.glob("*.deb"):
            if not (cached / deb.name).exists():
                _write_atomic(cached / deb.name, deb.read_bytes())

    def make_venv(
        self,
        path: str,
        packages: Sequence[str],
        user: str = LOGIN_USER,
        timeout: float = 900.0,
    ) -> str:
        """Create a venv at `path` inside as `user` and pip-install `packages` from PyPI.

        Installs python3-venv first if needed (see :meth:`ensure_venv_support`: that changes
        the machine, so a test that needs "no venv" must use a fresh instance). Downloads go
        to a wheelhouse kept on the host, and packages found there are installed without
        asking PyPI: delete ``<cache>/wheels`` to get newer releases. Returns the venv's
        python.
        """
        self.ensure_venv_support()
        self.run(f"python3 -m venv {shlex.quote(path)}", user=user)
        python = f"{path.rstrip('/')}/bin/python"
        if not packages:
            return python
        pip = [python, "-m", "pip"]
        offline = [*pip, "install", "-q", "--no-index", "--find-links", INSTANCE_WHEELHOUSE]
        # Root's files in the shared pip cache would lock ubuntu out of it later.
        env = {"PIP_CACHE_DIR": INSTANCE_PIP_CACHE} if user == LOGIN_USER else {}
        installed = self.run(
            shlex.join([*offline, *packages]), user=user, env=env, check=False, timeout=timeout
        )
        if installed.returncode != 0:
            # Not all in the wheelhouse yet. pip's own HTTP cache stays empty here (the
            # egress proxy drops the caching headers), hence `pip download` into it.
            download = [*pip, "download", "-q", "--dest", INSTANCE_WHEELHOUSE, *packages]
            self.run(shlex.join(download), user=user, env=env, timeout=timeout)
            self.run(shlex.join([*offline, *packages]), user=user, env=env, timeout=timeout)
        return python

    # -- internals -------------------------------------------------------------------

    def _inside_argv(
        self, cmd: Union[str, Sequence[str]], user: str, env: Optional[Mapping[str, str]]
    ) -> list[str]:
        if user == "root":
            return ["/bin/bash", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        script = cmd if isinstance(cmd, str) else shlex.join(cmd)
        if env:
            exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
            script = f"export {exports}\n{script}"
        # su - : a login shell (reads /etc/profile, ~/.profile) with a fresh environment
        # plus /etc/environment (pam_env), which is what an SSH login gives.
        return ["su", "-", user, "-c", script]

    def _nsenter_argv(self, inside: list[str]) -> list[str]:
        # The wrapper puts the command in the boot's cgroup (so power_off() can kill all of
        # it and systemd inside may move it, e.g. for systemd-run --scope).
        assert self._cgroup is not None
        return [
            "sh", "-c", 'echo $$ > "$1" && shift && exec "$@"', "sh",
            str(self._cgroup / "cgroup.procs"),
            "nsenter", "-t", str(self.pid), "-m", "-p", "-u", "-i", "-C", "-r", "-w", "--",
            # The same capability limits as everything systemd starts.
            "setpriv", "--bounding-set", BOUNDING_SET, "--",
            *inside,
        ]  # fmt: skip

    def _prepare_root(self) -> None:
        root = self.root
        chroot = ["chroot", str(root)]
        _run_host(
            [
                *chroot,
                "useradd",
                "--create-home",
                "--uid",
                str(LOGIN_UID),
                "--user-group",
                "--shell",
                "/bin/bash",
                LOGIN_USER,
            ]
        )
        _write_root_file(
            root,
            "etc/sudoers.d/90-cloud-init-users",
            f"{LOGIN_USER} ALL=(ALL) NOPASSWD:ALL\n",
            0o440,
        )
        _write_root_file(root, "etc/hostname", f"{self.hostname}\n")
        # What Ubuntu's cloud images set (read by pam_env at login).
        _write_root_file(root, "etc/default/locale", "LANG=C.UTF-8\n")
        _write_root_file(
            root,
            "etc/hosts",
            (
                f"127.0.0.1 localhost\n127.0.1.1 {self.hostname}\n"
                "::1 localhost ip6-localhost ip6-loopback\n"
            ),
        )
        # A machine id of its own (the tarball's is shared by every copy).
        _write_root_file(root, "etc/machine-id", uuid.uuid4().hex + "\n", 0o444)
        # Name resolution and TLS behave as on the host.
        _write_root_file(root, "etc/resolv.conf", Path("/etc/resolv.conf").read_text())
        _write_root_file(root, INSTANCE_CA_BUNDLE.lstrip("/"), HOST_CA_BUNDLE.read_text())
        if HOST_EXTRA_CAS.is_dir():
            # Kept by a later update-ca-certificates (e.g. when apt upgrades ca-certificates).
            for ca in HOST_EXTRA_CAS.glob("*.crt"):
                _write_root_file(root, f"usr/local/share/ca-certificates/{ca.name}", ca.read_text())
        _write_root_file(root, "etc/environment", _instance_environment())
        _write_root_file(root, "etc/pip.conf", f"[global]\ncert = {INSTANCE_CA_BUNDLE}\n")
        units = _inside_root(root, "etc/systemd/system")
        for unit in MASKED_UNITS:
            link = units / unit
            link.unlink(missing_ok=True)
            link.symlink_to("/dev/null")
        for inside in SHARED_CACHES.values():
            os.chown(_inside_root(root, inside.lstrip("/")), LOGIN_UID, LOGIN_UID)

    def _shared_cache_binds(self) -> list[str]:
        pairs = []
        for name, inside in SHARED_CACHES.items():
            host = cache_dir() / name
            host.mkdir(exist_ok=True)
            # Owned by the login user so pip running as ubuntu can write it (same uid).
            os.chown(host, LOGIN_UID, LOGIN_UID)
            pairs += [str(host), inside]
        return pairs

    def _find_systemd(self, timeout: float) -> int:
        """Host PID of the child of unshare once it has exec'd systemd."""
        assert self._unshare is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            for pid in _children(self._unshare.pid):
                with contextlib.suppress(OSError):
                    if Path(f"/proc/{pid}/comm").read_text().strip() == "systemd":
                        return pid
            time.sleep(0.02)
        self._fail_boot("systemd was not started")

    def _check_alive(self) -> None:
        if self._unshare is not None and self._unshare.poll() is not None:
            self._fail_boot(f"the instance exited (status {self._unshare.returncode})")

    def _fail_boot(self, what: str) -> NoReturn:
        details = [f"e2e instance boot {self.boots} failed: {what}"]
        if self._pid is not None and self._unshare is not None and self._unshare.poll() is None:
            for cmd in (
                ["systemctl", "list-jobs", "--no-pager"],
                ["systemctl", "--failed", "--no-pager"],
            ):
                with contextlib.suppress(Exception):
                    details.append(f"$ {' '.join(cmd)}\n{self.run(cmd, check=False).stdout}")
        time.sleep(0.2)  # let the console reader catch up
        details.append(f"--- console log of this boot ({self.console_log}) ---")
        with contextlib.suppress(OSError):
            log = self.console_log.read_text(errors="replace")
            this_boot = log.rpartition(_ConsoleReader.banner(self.boots))[2]
            details.append(_tail(this_boot, 80))
        raise InstanceError("\n".join(details))


# -- console -----------------------------------------------------------------------------


class _ConsoleReader:
    """A pty whose slave is bind-mounted as the instance's /dev/console, copied to a log."""

    def __init__(self, log: Path, boot: int) -> None:
        self._master, self._slave = pty.openpty()
        # Raw: keep systemd's output as it is (no \r\n translation, no echo).
        tty.setraw(self._slave)
        self.slave_name = os.ttyname(self._slave)
        self.log_fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.write(self.log_fd, self.banner(boot).encode())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._copy, name="e2e-console", daemon=True)
        self._thread.start()

    @staticmethod
    def banner(boot: int) -> str:
        return f"\n===== boot {boot} =====\n"

    def note(self, text: str) -> None:
        """Add a line of our own to the log (e.g. why the next lines are there)."""
        os.write(self.log_fd, f"===== {text} =====\n".encode())

    def _copy(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.2)
            if not ready:
                continue
            try:
                chunk = os.read(self._master, 65536)
            except OSError:  # EIO once no slave is open any more
                return
            os.write(self.log_fd, chunk.replace(b"\r", b""))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for fd in (self._master, self._slave, self.log_fd):
            with contextlib.suppress(OSError):
                os.close(fd)


# -- host helpers ------------------------------------------------------------------------


def _run_host(argv: Sequence[str], timeout: float = 600.0) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise InstanceError(
            f"{shlex.join(argv)} failed ({result.returncode}):\n"
            f"{_tail(result.stderr.decode(errors='replace'), 40)}"
        )
    return result


def _clean_env(extra: Optional[Mapping[str, str]]) -> dict[str, str]:
    # The test process's environment (pyenv PATH, PIP_FIND_LINKS=/opt/..., pytest's
    # variables) means nothing inside; start from what a root shell there would have.
    env = {"PATH": INSTANCE_PATH, "HOME": "/root", "LANG": "C.UTF-8", "TERM": "dumb"}
    env.update(extra or {})
    return env


def _instance_environment() -> str:
    lines = [f'PATH="{INSTANCE_PATH}:/usr/games:/usr/local/games"']
    for var in CA_ENV_VARS:
        if var in os.environ:
            lines.append(f'{var}="{INSTANCE_CA_BUNDLE}"')
    for var in PASSTHROUGH_ENV_VARS:
        value = os.environ.get(var)
        if value and "file://" not in value and not value.startswith("/"):
            lines.append(f'{var}="{value}"')
    return "\n".join(lines) + "\n"


def _inside_root(root: Path, relpath: str) -> Path:
    """root/relpath as a real directory of the root (made if missing), never a way out of it.

    Paths in the root are full of absolute symlinks that would point into the host's file
    system when followed from the host.
    """
    path = (root / relpath).resolve()
    if not path.is_relative_to(root.resolve()):
        raise InstanceError(f"{relpath} resolves outside the instance root")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write_root_file(root: Path, relpath: str, text: str, mode: int = 0o644) -> None:
    """Write a file into the (not yet booted) root, replacing a symlink rather than following."""
    parent = _inside_root(root, str(Path(relpath).parent))
    target = parent / Path(relpath).name
    if target.is_symlink():
        target.unlink()
    _write_atomic(target, text.encode(), mode)


def _write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.chmod(mode)
    os.replace(tmp, path)


def _tail(text: str, lines: int) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _kill_tree(pid: int) -> None:
    """SIGKILL `pid` and its descendants (a command inside that timed out)."""
    pids = [pid]
    index = 0
    while index < len(pids):
        pids.extend(_children(pids[index]))
        index += 1
    for victim in reversed(pids):
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


_STALE_NAME = re.compile(r"^jb-e2e-(\d+)-")
_stale_checked = False


def remove_stale_leftovers() -> None:
    """Remove the boot cgroups and temporary roots of test processes that no longer exist.

    A test process killed with SIGKILL takes its instance down with it (pdeathsig), but
    cannot delete the instance's directory and cgroup. Done once per process.
    """
    global _stale_checked
    if _stale_checked:
        return
    _stale_checked = True
    places = [Path(tempfile.gettempdir())]
    with contextlib.suppress(InstanceError):
        places.append(_cgroup_parent())
    for place in places:
        for path in place.glob("jb-e2e-*"):
            match = _STALE_NAME.match(path.name)
            if not match or not path.is_dir() or _pid_alive(int(match[1])):
                continue
            if place == places[0]:
                with contextlib.suppress(InstanceError):
                    _release_mounts_under(path)
                    shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(InstanceError, OSError):
                    _remove_cgroup(path)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- mounts ------------------------------------------------------------------------------


def _mount_points() -> list[str]:
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        # Field 5 is the mount point, with spaces and the like escaped as \040 etc.
        points.append(line.split()[4].encode().decode("unicode_escape"))
    return points


def _release_mounts_under(path: Path) -> None:
    """Unmount anything under `path` in the host's namespace (there should be nothing)."""
    prefix = str(path.resolve()).rstrip("/") + "/"
    leftovers = [p for p in _mount_points() if p.startswith(prefix)]
    for point in sorted(leftovers, key=len, reverse=True):
        subprocess.run(["umount", "-R", "-l", point], check=False, capture_output=True)
    if any(p.startswith(prefix) for p in _mount_points()):
        # Deleting the tree now could delete through a bind mount (e.g. of /dev).
        raise InstanceError(f"mounts remain under {path}; not deleting it")


# -- cgroups -----------------------------------------------------------------------------


def _cgroup2_mount() -> Optional[Path]:
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        fstype = fields[fields.index("-") + 1]
        if fstype == "cgroup2":
            return Path(fields[4])
    return None


def _cgroup_parent() -> Path:
    """Our own cgroup2 directory: the boot cgroups are made in it."""
    mount = _cgroup2_mount()
    if mount is None:
        raise InstanceError("no cgroup2 hierarchy is mounted")
    own = next(
        (
            line[3:]
            for line in Path("/proc/self/cgroup").read_text().splitlines()
            if line.startswith("0::")
        ),
        "/",
    )
    return mount / own.lstrip("/")


def _make_boot_cgroup(name: str) -> Path:
    """A fresh cgroup2 directory beside ours; the instance's cgroup namespace is rooted there."""
    path = _cgroup_parent() / name
    path.mkdir()
    return path


def _remove_cgroup(path: Path) -> None:
    """Kill what is left in `path` and remove it with its children (deepest first)."""
    if not path.exists():
        return
    kill = path / "cgroup.kill"
    if kill.exists():
        with contextlib.suppress(OSError):
            kill.write_text("1")
    else:  # kernels before 5.14: kill what we can see
        for procs in path.rglob("cgroup.procs"):
            for pid in procs.read_text().split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
    deadline = time.monotonic() + 30
    while "populated 1" in (path / "cgroup.events").read_text():
        if time.monotonic() > deadline:
            raise InstanceError(f"processes survive in {path}")
        time.sleep(0.05)
    for directory in sorted(
        (p for p in path.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True
    ):
        with contextlib.suppress(OSError):
            directory.rmdir()
    with contextlib.suppress(OSError):
        path.rmdir()


# -- the base tarball --------------------------------------------------------------------


def _base_key(packages: Sequence[str], mirror: str, release: str) -> str:
    arch = (
        subprocess.run(
            ["dpkg", "--print-architecture"], capture_output=True, text=True, check=False
        ).stdout.strip()
        or os.uname().machine
    )
    spec = {
        "suite": release,
        "variant": "minbase",
        "packages": sorted(packages),
        "mirror": mirror,
        "arch": arch,
        "recipe": BASE_RECIPE_VERSION,
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def _build_base_tarball(tarball: Path, packages: Sequence[str], mirror: str, release: str) -> None:
    build = Path(tempfile.mkdtemp(prefix="build-", dir=tarball.parent))
    root = build / "root"
    try:
        # In a private mount namespace: whatever debootstrap mounts (proc, sys, dev) goes
        # away with it, even when it fails half-way, and never shows on the host.
        _run_host(
            [
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(packages)}",
                release,
                str(root),
                mirror,
            ],
            timeout=1800,
        )
        # Like a stock cloud image: no package lists (apt-get update comes first), no debs.
        shutil.rmtree(root / "var/lib/apt/lists", ignore_errors=True)
        (root / "var/lib/apt/lists/partial").mkdir(parents=True)
        for deb in (root / "var/cache/apt/archives").glob("*.deb"):
            deb.unlink()
        partial = tarball.with_name(tarball.name + ".partial")
        _run_host(
            [
                "tar",
                "--zstd",
                "--numeric-owner",
                "--xattrs",
                "-cpf",
                str(partial),
                "-C",
                str(root),
                ".",
            ],
            timeout=600,
        )
        os.replace(partial, tarball)
    finally:
        _release_mounts_under(build)
        shutil.rmtree(build, ignore_errors=True)


#: What the ``systemd_instance_factory`` fixture gives: a call makes a fresh booted instance.
InstanceFactory = Callable[[], SystemdInstance]
