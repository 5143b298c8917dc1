"""Kernels: every environment with ipykernel under the prefix's envs/ (and the folders named
with --env-dir) is a kernel in Jupyter, "Python (proj)". A path unit watching those folders
runs `jupyter-bootstrap kernels sync` as the login user when an environment is made or
removed, so a new one appears without running init again. Jupyter reads kernelspecs for
every request: nothing here ever restarts it (running kernels are the user's work).

`--no-env-kernels` opts out: our kernelspecs and units go; the user's own stay."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Optional

from jupyter_bootstrap import kernelspecs
from jupyter_bootstrap.engine import Context, Status, drift, good
from jupyter_bootstrap.kernelspecs import Environment, SyncPlan
from jupyter_bootstrap.service import extra_units, kernel_units, systemctl
from jupyter_bootstrap.service.agent_run import agent_run
from jupyter_bootstrap.service.extra_units import UnitsPlan

SHOWN_NAMES = 6  # environments named in a summary line; the rest are counted
BY_HAND = "after making an environment, run `jupyter-bootstrap kernels sync`"


class KernelsPlan(NamedTuple):
    specs: Optional[SyncPlan]  # None: the kernelspecs are right
    units: Optional[UnitsPlan]  # None: the units are right (or there is no systemd)

    @property
    def action(self) -> str:
        actions = []
        if self.specs is not None:
            if self.specs.write:
                actions.append(f"write {len(self.specs.write)} kernelspec(s)")
            if self.specs.remove:
                actions.append(f"remove {len(self.specs.remove)} kernelspec(s) of ours")
        if self.units is not None:
            what = "remove" if self.units.remove else "install and start"
            actions.append(f"{what} the watcher of new environments")
        return ", ".join(actions)

    @property
    def restart_reason(self) -> Optional[str]:
        return None  # Jupyter reads kernelspecs per request


def _watched(ctx: Context) -> bool:
    """Whether a path unit can watch for new environments (the service is systemd's)."""
    return not ctx.settings.no_service and systemctl.is_booted()


def watched_folders(ctx: Context) -> list[Path]:
    """The prefix's envs/ first, then the user's own folders."""
    folders = [ctx.prefix / "envs"]
    for extra in ctx.settings.env_dirs:
        if Path(extra) not in folders:
            folders.append(Path(extra))
    return folders


def environments(ctx: Context) -> list[Environment]:
    found: list[Environment] = []
    for folder in watched_folders(ctx):
        found += [e for e in kernelspecs.environments_in(folder) if e.path != ctx.prefix]
    return found


def sync_plan(ctx: Context) -> SyncPlan:
    found = kernelspecs.read_specs(ctx.paths.kernels_dir)
    return kernelspecs.decide(environments(ctx), found, ctx.settings.env_kernels)


def conda_of(ctx: Context, environment: Environment) -> Optional[Path]:
    """The conda that made an environment of a folder of environments (PREFIX/envs/NAME ->
    PREFIX/bin/conda), else the prefix's."""
    for prefix in (environment.path.parent.parent, ctx.prefix):
        conda = prefix / "bin" / "conda"
        if conda.exists():
            return conda
    return None


def names(items: list[str]) -> str:
    shown = ", ".join(items[:SHOWN_NAMES])
    more = len(items) - SHOWN_NAMES
    return shown + (f" and {more} more" if more > 0 else "")


def describe(plan: SyncPlan) -> str:
    """What the kernels are (once the plan is carried out), in one line."""
    with_kernels = [w.environment.name for w in plan.current]
    with_kernels += [f"{path.name} (yours)" for path, _ in plan.yours]
    if with_kernels:
        text = f"kernels for {names(with_kernels)}"
    else:
        text = "no environment with ipykernel yet"
    if plan.without_ipykernel:
        without = [e.name for e in plan.without_ipykernel]
        text += f"; without ipykernel: {names(without)} (`jupyter-bootstrap kernels sync` says "
        text += "how to add it)"
    return text


def _unit_values(ctx: Context) -> kernel_units.KernelUnitValues:
    account = ctx.account
    return kernel_units.KernelUnitValues(
        service_name=ctx.settings.service_name,
        run=agent_run(account.name, account.gid, account.home),
        watched=tuple(watched_folders(ctx)),
    )


def wanted_units(ctx: Context) -> list[extra_units.UnitFile]:
    """The sync service, then its trigger, the path unit."""
    values = _unit_values(ctx)
    name = ctx.settings.service_name
    return [
        extra_units.unit_file(
            kernel_units.service_name_for(name), kernel_units.render_service(values)
        ),
        extra_units.unit_file(kernel_units.path_name_for(name), kernel_units.render_path(values)),
    ]


class KernelsStep:
    name = "kernels"

    def check(self, ctx: Context) -> Status[KernelsPlan]:
        specs = sync_plan(ctx)
        problems = []
        if specs.write:
            problems.append("no kernel yet for " + names([w.environment.name for w in specs.write]))
        if specs.remove:
            problems.append(
                "kernels of ours left for " + names([str(s.environment) for s in specs.remove])
            )
        unit_plan = None
        if _watched(ctx):
            wanted = wanted_units(ctx)
            on_disk = extra_units.read_ours(wanted)
            trigger = systemctl.state(wanted[-1].name)
            found, unit_plan = extra_units.decide(
                wanted, on_disk, trigger, ctx.settings.env_kernels
            )
            problems += found
        plan = KernelsPlan(specs if specs.changes else None, unit_plan)
        if not ctx.settings.env_kernels:
            summary = "off (--env-kernels turns them on)"
        elif unit_plan is None and _watched(ctx):
            summary = f"{describe(specs)}; new environments get theirs by themselves"
        else:
            summary = describe(specs)
        if problems:
            return drift("; ".join(problems), plan)
        if ctx.settings.env_kernels and not _watched(ctx):
            summary += f"; {BY_HAND}"
        return good(summary)

    def apply(self, ctx: Context, plan: KernelsPlan) -> str:
        done = []
        if plan.specs is not None:
            kernelspecs.carry_out(plan.specs, ctx.paths.kernels_dir, ctx.account.owner)
            if plan.specs.write:
                done.append("kernels for " + names([w.environment.name for w in plan.specs.write]))
            if plan.specs.remove:
                done.append(f"removed {len(plan.specs.remove)} kernel(s) of ours")
        if plan.units is not None:
            extra_units.carry_out(plan.units)
            if plan.units.remove:
                done.append("removed the watcher of new environments")
            else:
                done.append(f"{plan.units.trigger} makes kernels for new environments")
        done.append("Jupyter lists them at once, no restart")
        if ctx.settings.env_kernels and not _watched(ctx):
            done.append(BY_HAND)
        return "; ".join(done)
