"""`jupyter-bootstrap uninstall`: undo what `init` did and keep the user's work.

Always removed: our service (stopped, disabled, unit deleted), our block in the Jupyter
config (the user's own lines stay), our settings and state, and the renderings and
certificate facts kept to check faster. Kept unless --purge: the certificate and key, the
conda install, downloads and the log. Never removed: notebooks, a certificate the user
brought (--certfile), a unit or directory that is not ours, and a conda install the agent
found rather than installed (installed.py keeps that record).
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, NamedTuple, Optional

import click

from jupyter_bootstrap import conda, installed, kernelspecs, managed_block, paths, sudo
from jupyter_bootstrap import stop_when_idle as idle
from jupyter_bootstrap.certificate_facts import KIND as KEPT_FACTS
from jupyter_bootstrap.commands.guarded import converging
from jupyter_bootstrap.errors import UserError
from jupyter_bootstrap.files import atomic_write, mode_of, read_bytes_or_none
from jupyter_bootstrap.jupyter_hash import KIND as KEPT_VERDICTS
from jupyter_bootstrap.service import (
    idle_units,
    kernel_units,
    known_good,
    renewal_units,
    systemctl,
    unit,
)
from jupyter_bootstrap.templating import KIND as KEPT_RENDERINGS

if TYPE_CHECKING:
    from jupyter_bootstrap.engine import Context


class Removal(NamedTuple):
    name: str  # a short label for the report line
    what: str  # shown before the confirmation
    perform: Callable[[], str]  # does it; says what was done


@dataclass
class UninstallPlan:
    """What uninstall removes, and what it leaves in place (and why)."""

    removals: list[Removal]
    kept: list[str]


def make_plan(ctx: Context, purge: bool) -> UninstallPlan:
    plan = UninstallPlan([], [f"your notebooks in {ctx.notebook_dir}"])
    for add in (_service, _renewal, _extra_units, _kernelspecs, _config_blocks, _settings):
        add(ctx, plan)
    if purge:
        for add in (_certificates, _conda, _agent_files):
            add(ctx, plan)
    else:
        account = " and the ACME account" if (ctx.paths.state_dir / "acme").exists() else ""
        plan.kept.append(
            f"the certificate{account}, the conda install, downloads and the log (--purge "
            "deletes them)"
        )
    plan.kept.append("this command itself (`install.sh --uninstall` removes it)")
    return plan


# -- the service --------------------------------------------------------------------------


def _service(ctx: Context, plan: UninstallPlan) -> None:
    if not systemctl.is_booted():
        return
    name = ctx.settings.service_name
    path, service = unit.unit_path(name), unit.unit_name(name)
    text = unit.read(path)
    if text is None:
        return
    if not unit.is_ours(text):
        plan.kept.append(f"{path}: not written by jupyter-bootstrap, so not ours to remove")
        return
    owner = unit.user_of(text)
    if owner is not None and owner != ctx.account.name:
        plan.kept.append(f"{path}: runs Jupyter for {owner}, so not yours to remove")
        return

    def remove() -> str:
        sudo.ensure(f"remove the {service} service")
        systemctl.stop(service)
        systemctl.disable(service)
        unit.remove(path)
        systemctl.daemon_reload()
        systemctl.reset_failed(service)
        return f"stopped and disabled {service}, removed {path}"

    plan.removals.append(Removal("service", f"the service {service} and {path}", remove))


def _renewal(ctx: Context, plan: UninstallPlan) -> None:
    """The renewal timer and its boot-time unit, when they are ours."""
    if not systemctl.is_booted():
        return
    name = ctx.settings.service_name
    timer = renewal_units.timer_name_for(name)
    service = renewal_units.service_name_for(name)
    ours = []
    for unit_file in (timer, service):
        path = paths.SYSTEMD_UNIT_DIR / unit_file
        text = unit.read(path)
        if text is None:
            continue
        if unit.is_ours(text):
            ours.append((unit_file, path))
        else:
            plan.kept.append(f"{path}: not written by jupyter-bootstrap, so not ours to remove")
    if not ours:
        return

    def remove() -> str:
        sudo.ensure("remove the certificate renewal timer")
        for unit_file, path in ours:
            if unit_file == timer:
                systemctl.stop(unit_file)
            systemctl.disable(unit_file)
            unit.remove(path)
        systemctl.daemon_reload()
        return "removed " + ", ".join(str(path) for _, path in ours)

    names = " and ".join(unit_file for unit_file, _ in ours)
    plan.removals.append(Removal("renewal", f"the certificate renewal units {names}", remove))


def _extra_units(ctx: Context, plan: UninstallPlan) -> None:
    """The watcher of new environments and the stop-when-idle timer, with their services,
    when they are ours."""
    if not systemctl.is_booted():
        return
    name = ctx.settings.service_name
    for label, what, service, trigger in (
        (
            "kernels",
            "the watcher of new environments",
            kernel_units.service_name_for(name),
            kernel_units.path_name_for(name),
        ),
        (
            "autostop",
            "the stop-when-idle timer",
            idle_units.service_name_for(name),
            idle_units.timer_name_for(name),
        ),
    ):
        ours = []
        for unit_file in (trigger, service):
            path = paths.SYSTEMD_UNIT_DIR / unit_file
            text = unit.read(path)
            if text is not None and unit.is_ours(text):
                ours.append(path)
            elif text is not None:
                plan.kept.append(f"{path}: not written by jupyter-bootstrap, so not ours to remove")
        if ours:
            plan.removals.append(
                Removal(
                    label,
                    f"{what} ({', '.join(p.name for p in ours)})",
                    _units_remover(what, trigger, ours),
                )
            )


def _units_remover(what: str, trigger: str, ours: list[Path]) -> Callable[[], str]:
    def remove() -> str:
        sudo.ensure(f"remove {what}")
        systemctl.stop(trigger)
        systemctl.disable(trigger)
        for path in ours:
            unit.remove(path)
        systemctl.daemon_reload()
        return "removed " + ", ".join(str(path) for path in ours)

    return remove


def _kernelspecs(ctx: Context, plan: UninstallPlan) -> None:
    """Our kernelspecs; the user's own and the environments themselves stay."""
    # As if there were no environments at all: every kernelspec of ours goes, no other.
    gone = kernelspecs.decide([], kernelspecs.read_specs(ctx.paths.kernels_dir))
    ours = gone.remove
    if not ours:
        return

    def remove() -> str:
        kernelspecs.carry_out(gone, ctx.paths.kernels_dir, ctx.account.owner)
        return f"removed {len(ours)} kernel(s) of ours; the environments stay"

    what = f"the kernels made for your environments ({', '.join(s.name for s in ours)})"
    plan.removals.append(Removal("kernels", what, remove))
    plan.kept.append("your environments, and kernelspecs you made yourself")


# -- files in the user's home -------------------------------------------------------------


def _config_blocks(ctx: Context, plan: UninstallPlan) -> None:
    owner = ctx.account.owner
    for path in (ctx.paths.server_config, ctx.paths.notebook_config):
        raw = read_bytes_or_none(path)
        if raw is None or managed_block.split(raw.decode("utf-8", "replace")).block is None:
            continue

        def remove(path: Path = path, text: str = raw.decode("utf-8", "replace")) -> str:
            rest = managed_block.remove(text)
            if not rest.strip():
                path.unlink()
                return f"deleted {path} (it held only our settings)"
            atomic_write(path, rest, mode_of(path), owner)
            return f"removed our block from {path}; your own lines stay"

        plan.removals.append(
            Removal("config", f"the jupyter-bootstrap block in {path} (your lines stay)", remove)
        )


def _settings(ctx: Context, plan: UninstallPlan) -> None:
    # The last working setup holds the password hash too: it goes with the settings.
    candidates = (
        ctx.paths.settings_file,
        ctx.paths.state_file,
        known_good.path_in(ctx.paths.state_dir),
        idle.state_path(ctx.paths.state_dir),
    )
    files = [p for p in candidates if p.exists()]
    # What init kept to check faster holds the rendered config, and so the hash as well.
    folders = [ctx.paths.cache_dir / kind for kind in (KEPT_RENDERINGS, KEPT_FACTS, KEPT_VERDICTS)]
    kept = [f for f in folders if f.is_dir() and not f.is_symlink() and _deletable(ctx, f)]
    if not files and not kept:
        return

    def remove() -> str:
        for path in files:
            path.unlink(missing_ok=True)
        for folder in kept:
            shutil.rmtree(folder, ignore_errors=True)
        _remove_if_empty(ctx.paths.config_dir)
        return "deleted " + ", ".join(str(p) for p in files + kept)

    what = ", ".join(map(str, files + kept))
    plan.removals.append(Removal("settings", "the settings " + what, remove))


def _certificates(ctx: Context, plan: UninstallPlan) -> None:
    if ctx.settings.own_certificate:
        plan.kept.append(f"your own certificate {ctx.settings.certfile} (not ours to delete)")
        return
    files = [p for p in (ctx.paths.default_certfile, ctx.paths.separate_keyfile) if p.exists()]
    if not files:
        return

    def remove() -> str:
        for path in files:
            path.unlink(missing_ok=True)
        _remove_if_empty(ctx.paths.certs_dir)
        return "deleted " + ", ".join(str(p) for p in files)

    what = "the certificate and key " + ", ".join(str(p) for p in files)
    plan.removals.append(Removal("certificate", what, remove))


def _conda(ctx: Context, plan: UninstallPlan) -> None:
    """Only a prefix the record says this agent installed (or started installing) is ours to
    delete; the conda the settings point at may be one it found, with the user's work in it."""
    records = installed.conda_records(ctx.paths.state_dir)
    for target in dict.fromkeys([ctx.prefix, *records]):
        if target.exists() or target.is_symlink():
            _conda_prefix(ctx, plan, target, records.get(target))


def _conda_prefix(
    ctx: Context, plan: UninstallPlan, target: Path, record: Optional[installed.CondaRecord]
) -> None:
    if record is None:
        plan.kept.append(f"{target}: found, not installed by jupyter-bootstrap: delete it yourself")
        return
    made_by_installer = conda.is_base_install(target) or conda.strangers(target) == ()
    if target.is_symlink() or not made_by_installer or not _deletable(ctx, target):
        plan.kept.append(
            f"{target}: not a conda install in your home (or it holds your notebooks), "
            "delete it yourself"
        )
        return

    def remove() -> str:
        _delete_tree(ctx, target)
        return f"deleted {target} (the `conda initialize` block in ~/.bashrc is left)"

    what = f"the conda install {target}, {record.describe()}"
    plan.removals.append(Removal("conda", what, remove))


def _agent_files(ctx: Context, plan: UninstallPlan) -> None:
    for directory, what in (
        (ctx.paths.cache_dir, "downloads"),
        (ctx.paths.state_dir, "the log and state (with the ACME account, if any)"),
    ):
        if not directory.exists() or not _deletable(ctx, directory):
            continue

        def remove(directory: Path = directory) -> str:
            _delete_tree(ctx, directory)
            return f"deleted {directory}"

        plan.removals.append(Removal("files", f"{what} in {directory}", remove))


def _deletable(ctx: Context, path: Path) -> bool:
    """Inside the home, not the home, and holding no notebooks."""
    home, target = ctx.account.home.resolve(), path.resolve()
    notebooks = ctx.notebook_dir.resolve()
    inside_home = target != home and home in target.parents
    holds_notebooks = notebooks == target or target in notebooks.parents
    return inside_home and not holds_notebooks


def _delete_tree(ctx: Context, path: Path) -> None:
    if not _deletable(ctx, path):  # checked when planning; again right before deleting
        raise UserError(f"refusing to delete {path}: it holds your notebooks or your home")
    shutil.rmtree(path)


def _remove_if_empty(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not empty (or gone): leave it
        directory.rmdir()


# -- the command ------------------------------------------------------------------------


def confirm(question: str, assume_yes: bool, tty: Optional[bool] = None) -> bool:
    """Ask a yes/no question; without a terminal to ask on, only --yes goes ahead."""
    if assume_yes:
        return True
    if not (sys.stdin.isatty() if tty is None else tty):
        raise UserError(
            "uninstall asks for confirmation, and there is no terminal to answer on",
            hint="run it in a terminal, or pass --yes",
        )
    return bool(click.confirm(question, default=False))


def uninstall(ctx: Context, assume_yes: bool, purge: bool) -> None:
    console = ctx.console
    plan = make_plan(ctx, purge)
    if not plan.removals:
        who = ctx.account.name
        console.info(f"Nothing to remove: jupyter-bootstrap set nothing up for {who}.")
        return
    console.info("This removes:")
    for removal in plan.removals:
        console.info(f"  - {removal.what}")
    console.info("and keeps:")
    for kept in plan.kept:
        console.info(f"  - {kept}")
    if not confirm("Go ahead?", assume_yes):
        console.info("Nothing was changed.")
        return
    # Not while an init runs: --purge could delete the prefix its installer writes into.
    with converging(ctx, "uninstall"):
        for removal in plan.removals:
            console.step(removal.name, "changed", removal.perform())
    console.info()
    console.info(f"jupyter-bootstrap is uninstalled for {ctx.account.name}.")
