"""The e2e instance image for first boots through cloud-init, cached like the base tarball.

What it adds to the base image (tests/e2e/instance.py):

* Debian's ``cloud-init`` and ``locales`` (cloud-init's ``locale`` module fails without it),
  configured like an Ubuntu cloud image's: the default user is ``ubuntu`` with
  passwordless sudo. cloud-init never configures the network here: the instance shares the
  host's network namespace.
* A Jupyter environment from PyPI at ``/opt/jupyter-env``, standing in for the packages a
  conda installer brings: the tests' conda installer (tests/support/fake_installer.py)
  served on loopback installs a conda whose ``jupyter`` runs this one.

Like the base image it has no ``python3-venv`` and no apt lists: python3-venv is installed
to make the Jupyter environment and purged again, so install.sh still has to install it at
first boot, as on a stock Ubuntu image.

The image is made by booting the base image once (with the instance helpers that install
packages and make venvs), stripping what makes an instance an instance (the login user,
apt lists, cloud-init's state), and packing the root. It is rebuilt only when the base
image or this recipe changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from tests.e2e.instance import (
    LOGIN_USER,
    SUITE,
    SystemdInstance,
    _locked,
    _run_host,
    base_tarball,
    cache_dir,
)

CLOUD_PACKAGES = ("cloud-init", "locales")
JUPYTER_PREFIX = "/opt/jupyter-env"
JUPYTER_PACKAGES = ("notebook",)
# Bump when the way the image is made changes, so old caches are not reused.
CLOUD_RECIPE_VERSION = 1

# An Ubuntu image's cloud.cfg names `ubuntu` as the default user with passwordless sudo;
# Debian's names `debian`, and cloud-init would replace the sudo rule that gives ubuntu
# its sudo (/etc/sudoers.d/90-cloud-init-users) with one for a user nobody logs in as.
IMAGE_CLOUD_CFG = """\
# The jupyter-bootstrap e2e image: cloud-init set up like on an Ubuntu cloud image.
system_info:
  default_user:
    name: ubuntu
    lock_passwd: true
    gecos: Ubuntu
    groups: [adm, sudo]
    sudo: ["ALL=(ALL) NOPASSWD:ALL"]
    shell: /bin/bash
# The instance shares the host's network namespace: never configure it.
network:
  config: disabled
datasource_list: [NoCloud, None]
"""
IMAGE_CLOUD_CFG_PATH = "/etc/cloud/cloud.cfg.d/90_jupyter_bootstrap_e2e.cfg"

# Run inside, as root, after the packages and the Jupyter environment are in: what makes
# the booted build machine an instance goes, and the image is as stock as the base again.
STRIP = f"""
set -eu
venvs=$(dpkg-query -W -f='${{Package}}\\n' 'python3*-venv')
apt-get purge -y -q $venvs
apt-get autoremove --purge -y -q
if python3 -c 'import ensurepip' 2>/dev/null; then
    echo "ensurepip is still importable after purging $venvs" >&2
    exit 1
fi
userdel --remove {LOGIN_USER} 2>/dev/null || userdel {LOGIN_USER}
rm -f /etc/sudoers.d/90-cloud-init-users /etc/cloud/cloud-init.disabled
apt-get clean
rm -rf /var/lib/apt/lists
mkdir -p /var/lib/apt/lists/partial
cloud-init clean --logs
"""


def cloud_init_tarball() -> Path:
    """The cached image with cloud-init, built (a few minutes) when missing. Concurrent
    callers wait on a lock instead of building twice."""
    base = base_tarball()
    spec = {
        "base": base.name,
        "packages": sorted(CLOUD_PACKAGES),
        "jupyter": [JUPYTER_PREFIX, *JUPYTER_PACKAGES],
        "cloud_cfg": IMAGE_CLOUD_CFG,
        "strip": STRIP,
        "recipe": CLOUD_RECIPE_VERSION,
    }
    key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
    cache = cache_dir()
    tarball = cache / f"debian-{SUITE}-cloud-init-{key}.tar.zst"
    if tarball.exists():
        return tarball
    with _locked(cache / f"debian-{SUITE}-cloud-init-{key}.lock"):
        if not tarball.exists():
            _build(base, tarball)
    return tarball


def _build(base: Path, tarball: Path) -> None:
    workdir = Path(tempfile.mkdtemp(prefix=f"jb-e2e-{os.getpid()}-image-"))
    instance = SystemdInstance(workdir=workdir, tarball=base)
    try:
        instance.start()
        instance.apt_install([*CLOUD_PACKAGES, "python3-venv"])
        instance.make_venv(JUPYTER_PREFIX, JUPYTER_PACKAGES, user="root")
        instance.run([f"{JUPYTER_PREFIX}/bin/jupyter", "notebook", "--version"])
        instance.write_file(IMAGE_CLOUD_CFG_PATH, IMAGE_CLOUD_CFG)
        instance.run(STRIP, timeout=600)
        instance.power_off()
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
                str(instance.root),
                ".",
            ],
            timeout=600,
        )
        os.replace(partial, tarball)
    finally:
        instance.shutdown()
        shutil.rmtree(workdir, ignore_errors=True)
