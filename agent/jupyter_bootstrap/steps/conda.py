"""Conda: a working conda base install at the prefix. When there is none, the installer is
downloaded (verified, resumable), run in batch mode, and deleted again; a broken install
is repaired with the installer's -u. Someone else's directory is never touched.

Before the installer runs, the agent records (installed.py) that it is installing into the
prefix; a run killed half-way (an SSH drop kills the installer too) leaves a prefix that
looks like nobody's conda, and that record, together with a prefix holding nothing an
installer does not make, is what lets the next run remove it and install again."""

from __future__ import annotations

import os
import platform
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable, NamedTuple, Optional

from jupyter_bootstrap import conda, installed, kill_points
from jupyter_bootstrap.account import Account
from jupyter_bootstrap.conda import CondaInstall, PrefixState
from jupyter_bootstrap.engine import Context, Status, drift, good
from jupyter_bootstrap.errors import StepFailed, UserError
from jupyter_bootstrap.files import Owner, ensure_dir
from jupyter_bootstrap.installed import CondaRecord as CondaRecord  # part of the plan
from jupyter_bootstrap.run import run

if TYPE_CHECKING:
    # Imported where something is downloaded: it pulls in requests, which a check of a
    # conda that is there (every `status`) never needs.
    from jupyter_bootstrap import download
    from jupyter_bootstrap.conda_installers import Installer

# Anaconda unpacks some 4 GB; on a small instance with a slow disk that takes a while.
INSTALL_TIMEOUT = 3600


class CondaPlan(NamedTuple):
    """Install (or, for a broken install, repair with -u) `installer` into the prefix; when
    `leftovers` is set, first remove what that interrupted install of ours left there."""

    target: CondaInstall
    installer: Installer
    leftovers: Optional[CondaRecord] = None

    @property
    def repair(self) -> bool:
        return self.target.state is PrefixState.BROKEN and self.leftovers is None

    @property
    def fresh(self) -> bool:
        """A new install, into a prefix that is (or is made) empty: it will be ours."""
        return not self.repair

    @property
    def update(self) -> bool:
        """The installer's -u: for a broken install, and for an empty directory (which also
        counts as "exists" to it); leftovers are removed first, so the prefix is absent."""
        return self.leftovers is None and self.target.state is not PrefixState.ABSENT

    @property
    def action(self) -> str:
        if self.repair:
            return f"repair it with {self.installer.filename} -u"
        if self.leftovers is not None:
            return (
                f"remove what the interrupted install left in {self.target.prefix} and "
                f"install {self.installer.filename} again"
            )
        return f"download {self.installer.filename} and install it into {self.target.prefix}"

    @property
    def restart_reason(self) -> Optional[str]:
        return None  # a new install has no server running from it yet


def _installer(ctx: Context) -> Installer:
    # Imported only when an install is planned: a check never needs the installer tables.
    from jupyter_bootstrap import conda_installers

    arch = ctx.facts.arch or platform.machine()
    return conda_installers.choose(
        ctx.settings.distribution,
        arch,
        os.environ,
        ctx.settings.installer_url,
        ctx.settings.installer_sha256,
    )


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _writable_by(account: Account, directory: Path) -> bool:
    if account.is_current:
        return os.access(directory, os.W_OK | os.X_OK)
    info = directory.stat()
    if info.st_uid == account.uid:
        return info.st_mode & 0o300 == 0o300
    return info.st_mode & 0o003 == 0o003


def _refuse(found: CondaInstall, strangers: Optional[tuple[str, ...]] = None) -> UserError:
    prefix = found.prefix
    if strangers:
        shown = ", ".join(strangers[:3]) + (", ..." if len(strangers) > 3 else "")
        return UserError(
            f"{prefix} is where an install by jupyter-bootstrap was interrupted, but it also "
            f"holds {shown}, which no conda installer makes: left untouched",
            hint="move your files out of it (or delete it yourself), or choose another place "
            "with --prefix DIR; then run init again",
        )
    if found.state is PrefixState.CONDA_ENV:
        return UserError(
            f"{prefix} is a conda environment without Jupyter, not a base install: left untouched",
            hint=f"pass --prefix with the base install (e.g. ~/miniconda3), or install "
            f"Jupyter into it yourself: conda install -p {prefix} notebook",
        )
    return UserError(
        f"{prefix} exists and is not a conda install ({found.problem}): left untouched",
        hint="move it out of the way, or choose another place with --prefix DIR",
    )


# What a killed installer leaves, depending on how far it got: no conda-meta/history yet, a
# history without conda's record, or a base install missing files.
INTERRUPTED_STATES = (PrefixState.FOREIGN, PrefixState.CONDA_ENV, PrefixState.BROKEN)


def decide(
    found: CondaInstall,
    writable: bool,
    target: Path,
    user: str,
    installer: Callable[[], Installer],
    started: Optional[CondaRecord] = None,
    strangers: Optional[tuple[str, ...]] = None,
) -> tuple[str, Optional[CondaPlan]]:
    """From what is at the prefix and whether `user` may write `target` (the prefix, or its
    nearest existing parent; the prefix's parent when it is to be removed): the summary and
    the plan, or the refusal. `installer` is only asked for when something must be
    installed. `started` is our record of an install into this prefix that never finished;
    `strangers` what the prefix holds that no installer makes (None: not a directory)."""
    prefix = found.prefix
    if found.state is PrefixState.READY:
        return found.describe(), None
    if found.state is PrefixState.OTHER_JUPYTER:
        return f"{prefix}: {found.state.value}, used as it is", None
    ours = started if found.state in INTERRUPTED_STATES else None
    if ours is not None and strangers == ():
        if not writable:
            raise _not_writable(prefix, target, user)
        summary = f"{prefix} is what {ours.describe()} left"
        return summary, CondaPlan(found, installer(), leftovers=ours)
    if not found.state.installable:
        raise _refuse(found, strangers if ours is not None else None)
    if not writable:
        raise _not_writable(prefix, target, user)
    plan = CondaPlan(found, installer())
    if plan.repair:
        return f"{found.label} in {prefix} is broken: {found.problem}", plan
    return f"no conda in {prefix}", plan


def _not_writable(prefix: Path, target: Path, user: str) -> UserError:
    return UserError(
        f"cannot install conda into {prefix}: {target} is not writable by {user}",
        hint=f"keep the default prefix in your home, or make it yours first: "
        f"sudo install -d -o {user} {prefix}",
    )


class CondaStep:
    name = "conda"

    def check(self, ctx: Context) -> Status[CondaPlan]:
        found = conda.locate(ctx.settings, ctx.paths, os.environ)
        ctx.facts.conda = found
        prefix = found.prefix
        via = f" (via {found.found_by})" if found.found_by.startswith(("$", "conda ")) else ""
        record = installed.conda_record(ctx.paths.state_dir, prefix)
        started = record if record is not None and record.unfinished else None
        strangers = conda.strangers(prefix) if started is not None else None
        if started is not None and found.state in INTERRUPTED_STATES:
            target = _nearest_existing(prefix.parent)  # the prefix itself is removed
            writable = _writable_by(ctx.account, target) and _writable_by(ctx.account, prefix)
        else:
            target = prefix if found.state is not PrefixState.ABSENT else _nearest_existing(prefix)
            writable = found.state.installable and _writable_by(ctx.account, target)
        summary, plan = decide(
            found, writable, target, ctx.account.name, lambda: _installer(ctx), started, strangers
        )
        if plan is None:
            return good(summary + (via if found.state is PrefixState.READY else ""))
        return drift(summary, plan)

    def apply(self, ctx: Context, plan: CondaPlan) -> str:
        from jupyter_bootstrap import conda_installers, download

        target, installer = plan.target, plan.installer
        dest = ctx.paths.download_dir / installer.filename
        _check_space(installer, dest, target.prefix)  # before anything is fetched
        sha256 = conda_installers.find_sha256(installer, download.fetch_text)
        fetched = self._download(ctx, installer, sha256, dest)
        kill_points.reached("conda:downloaded")
        if plan.leftovers is not None:
            self._remove_leftovers(ctx, plan.leftovers, target.prefix)
        record = self._record_start(ctx, plan) if plan.fresh else None
        self._install(ctx, fetched.path, target, plan.update)
        made = conda.inspect_prefix(target.prefix, target.found_by, target.distribution)
        if made.state is not PrefixState.READY:
            raise StepFailed(
                f"the installer finished but {target.prefix} is not a working conda: "
                f"{made.problem}",
                hint="read the installer's output in the log; then run init again",
            )
        if record is not None:
            done = record._replace(status=installed.INSTALLED, finished=installed.now())
            installed.record_conda(ctx.paths.state_dir, done, ctx.account.owner)
        if not ctx.options.keep_installer:
            fetched.path.unlink(missing_ok=True)
        ctx.facts.conda = made
        ctx.settings.prefix = str(target.prefix)
        ctx.save_settings()
        verb = "repaired" if plan.repair else "reinstalled" if plan.leftovers else "installed"
        cached = ", from the cache" if fetched.reused else ""
        return f"{verb} {made.describe()} ({installer.filename}, sha256 verified{cached})"

    def _remove_leftovers(self, ctx: Context, record: CondaRecord, prefix: Path) -> None:
        # Checked when planning; again right before deleting, as nothing may have been added.
        if conda.strangers(prefix) != ():
            raise UserError(
                f"{prefix} changed since it was checked: left untouched",
                hint="run init again to see what is there",
            )
        ctx.console.info(
            f"Removing what the interrupted install ({record.installer}, started "
            f"{record.started}) left in {prefix}, then installing again"
        )
        import shutil

        shutil.rmtree(prefix)

    def _record_start(self, ctx: Context, plan: CondaPlan) -> CondaRecord:
        """Durably, before the installer writes anything: the prefix is ours from now on."""
        record = CondaRecord(
            plan.target.prefix, installed.INSTALLING, plan.installer.filename, installed.now()
        )
        installed.record_conda(ctx.paths.state_dir, record, ctx.account.owner)
        return record

    def _download(
        self, ctx: Context, installer: Installer, sha256: str, dest: Path
    ) -> download.DownloadResult:
        from jupyter_bootstrap import download, progress

        ensure_dir(dest.parent, 0o700, ctx.account.owner)
        ctx.console.info(f"Downloading {installer.url}")
        sink = progress.progress_for(sys.stdout, installer.filename)
        try:
            return download.download_verified(installer.url, dest, sha256, progress=sink)
        finally:
            # Also after a failure: the part to resume must be the user's too, or their own
            # `init` after a first boot that failed cannot write it.
            for path in (dest, dest.with_name(dest.name + ".part")):
                _hand_over(path, ctx.account.owner)

    def _install(
        self, ctx: Context, installer_path: Path, target: CondaInstall, update: bool
    ) -> None:
        argv = ["bash", str(installer_path), "-b", "-p", str(target.prefix)]
        if update:
            argv.append("-u")
        ctx.console.info(f"Installing into {target.prefix} (this takes a few minutes)")
        with kill_points.while_running("conda:installer-running", lambda: _begun(target.prefix)):
            run(
                conda.as_account(ctx.account, argv),
                timeout=INSTALL_TIMEOUT,
                env=conda.account_env(ctx.account),
                cwd=ctx.account.home,
                what=f"the installer {installer_path.name}",
                hint="its last lines are above and all of it is in the log; fix the cause and "
                "run init again (the verified installer is kept, a half-done prefix is "
                "repaired)",
            )


def _begun(prefix: Path) -> bool:
    """The installer has started writing into the prefix."""
    try:
        return any(True for _ in os.scandir(prefix))
    except OSError:
        return False


def _check_space(installer: Installer, dest: Path, prefix: Path) -> None:
    """Refuse before the download rather than fail half-way through the install."""
    from jupyter_bootstrap import download

    part = dest.with_name(dest.name + ".part")
    if dest.exists():
        to_fetch = 0
    else:
        size = download.remote_size(installer.url) or installer.download_estimate
        # A .part left by an interrupted run is resumed, not fetched again.
        to_fetch = max(0, size - (part.stat().st_size if part.exists() else 0))
    download.ensure_free_space(
        download.SpaceNeed(dest.parent, to_fetch, f"downloading {installer.filename}"),
        download.SpaceNeed(prefix, installer.install_estimate, f"installing into {prefix}"),
    )


def _hand_over(path: Path, owner: Owner) -> None:
    # Fetched by root for the login user (cloud-init, --user): the user's cache holds files
    # the user owns, so a later run as that user can reuse, resume or delete them.
    if os.geteuid() != 0:
        return
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISREG(info.st_mode) and info.st_uid != owner.uid:
        os.chown(path, owner.uid, owner.gid, follow_symlinks=False)
