"""`jupyter-bootstrap kernels sync`: a kernel for every environment with ipykernel, none of
ours left for an environment that is gone, and for each environment without ipykernel the
one command that adds it. Run by hand, or by the path unit when an environment is made or
removed (`--wait`: an environment still being made is waited for). Never a restart: Jupyter
reads kernelspecs for every request."""

from __future__ import annotations

import time

from jupyter_bootstrap import kernelspecs
from jupyter_bootstrap.commands.cert import require_setup
from jupyter_bootstrap.engine import Context
from jupyter_bootstrap.kernelspecs import SyncPlan
from jupyter_bootstrap.steps.kernels import conda_of, sync_plan, watched_folders

# `conda create` takes a minute or two; a quarter of an hour covers a slow mirror.
LONGEST_WAIT = 900.0
POLL_SECONDS = 2.0


def sync(ctx: Context, wait: bool) -> None:
    require_setup(ctx)
    console = ctx.console
    if not ctx.settings.env_kernels:
        console.info(
            "Kernels for environments are off: `jupyter-bootstrap init --env-kernels` turns "
            "them on."
        )
        return
    folders = ", ".join(str(folder) for folder in watched_folders(ctx))
    console.info(f"Kernels for the environments in {folders}:")
    started = time.monotonic()
    plan = sync_plan(ctx)
    kernelspecs.carry_out(plan, ctx.paths.kernels_dir, ctx.account.owner)
    _report(ctx, plan, everything=True)
    while wait and _settling(plan) and time.monotonic() - started < LONGEST_WAIT:
        time.sleep(POLL_SECONDS)
        plan = sync_plan(ctx)
        kernelspecs.carry_out(plan, ctx.paths.kernels_dir, ctx.account.owner)
        _report(ctx, plan, everything=False)
    if not plan.current and not plan.yours and not plan.without_ipykernel:
        console.info(
            "No Python environment there yet: make one, e.g. `conda create -n proj "
            "python ipykernel`, and its kernel appears by itself."
        )
    console.info("Jupyter lists kernels as they are now, without a restart: reload the page.")


def _settling(plan: SyncPlan) -> bool:
    now = time.time()
    return any(e.settling(now) for e in (*plan.without_ipykernel, *plan.without_python))


def _report(ctx: Context, plan: SyncPlan, everything: bool) -> None:
    """A line per environment (`everything`), or per change only (the later looks of a
    sync that waits)."""
    console = ctx.console
    written = {w.name for w in plan.write}
    for wanted in plan.current:
        display = f"Python ({wanted.environment.name}), {wanted.environment}"
        if wanted.name in written:
            console.step(wanted.environment.name, "added", display)
        elif everything:
            console.step(wanted.environment.name, "ok", display)
    for spec in plan.remove:
        gone = spec.environment.name if spec.environment is not None else spec.name
        console.step(
            gone, "removed", f"the kernel {spec.name} (its environment or ipykernel is gone)"
        )
    if not everything:
        return
    for path, name in plan.yours:
        console.step(path.name, "ok", f"your own kernelspec {name} runs it: none of ours added")
    for environment in plan.without_ipykernel:
        command = environment.add_ipykernel(conda_of(ctx, environment))
        console.step(
            environment.name,
            "skipped",
            f"no ipykernel, so no kernel. Add it: {command} ; then run "
            "`jupyter-bootstrap kernels sync`",
        )
    for environment in plan.without_python:
        console.step(environment.name, "skipped", "no Python in it (yet), so no kernel")
