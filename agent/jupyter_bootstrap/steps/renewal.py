"""Renewal: the certificate is kept fresh with nobody logged in. A timer runs `jupyter-bootstrap
cert renew` twice a day, and the same unit runs at boot before Jupyter, so that a new public
IP after a stop/start is in the certificate before the first browser arrives. A renewal never
restarts Jupyter (it reads the certificate file for every new connection).

Nothing to renew: no systemd service (`--no-service`: renew by hand), or the user's own
certificate (whoever issued it renews it); units of ours left from before are then removed."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Optional

from jupyter_bootstrap import paths
from jupyter_bootstrap.engine import Context, Status, drift, good
from jupyter_bootstrap.service import renewal_units, systemctl
from jupyter_bootstrap.service import unit as units

PRIVILEGED_PORTS = 1024


class UnitFile(NamedTuple):
    name: str  # jupyter-certificate.service
    path: Path
    text: Optional[str]  # what we want there; None: nothing


class RenewalPlan(NamedTuple):
    files: tuple[UnitFile, ...]  # to write (text) or remove (None)
    remove: bool  # take the units away altogether
    reason: str

    @property
    def action(self) -> str:
        if self.remove:
            return "remove the renewal timer and its unit"
        return "install and enable the renewal timer and its boot-time unit"

    @property
    def restart_reason(self) -> Optional[str]:
        return None


def _wanted(ctx: Context) -> tuple[UnitFile, UnitFile]:
    settings = ctx.settings
    account = ctx.account
    privileged = settings.letsencrypt and (
        min(settings.acme_tls_alpn_port, settings.acme_http_port) < PRIVILEGED_PORTS
    )
    values = renewal_units.values_for(
        settings.service_name,
        account.name,
        units.group_name(account.gid),
        account.home,
        privileged,
    )
    service = renewal_units.service_name_for(settings.service_name)
    timer = renewal_units.timer_name_for(settings.service_name)
    return (
        UnitFile(service, paths.SYSTEMD_UNIT_DIR / service, renewal_units.render_service(values)),
        UnitFile(timer, paths.SYSTEMD_UNIT_DIR / timer, renewal_units.render_timer(values)),
    )


class RenewalStep:
    name = "renewal"

    def check(self, ctx: Context) -> Status[RenewalPlan]:
        if ctx.settings.no_service:
            return good("no systemd service: renew with `jupyter-bootstrap cert renew`")
        service, timer = _wanted(ctx)
        on_disk = {f.name: units.read(f.path) for f in (service, timer)}
        for file in (service, timer):
            text = on_disk[file.name]
            if text is not None and not units.is_ours(text):
                raise units.foreign_unit_error(file.path)
        if ctx.settings.own_certificate:
            present = tuple(
                UnitFile(f.name, f.path, None) for f in (service, timer) if on_disk[f.name]
            )
            if not present:
                return good("your own certificate: whoever issued it renews it")
            reason = "your own certificate needs no renewal timer of ours"
            return drift(reason, RenewalPlan(present, remove=True, reason=reason))
        changed = tuple(f for f in (service, timer) if on_disk[f.name] != f.text)
        reasons = [
            f"{f.name} is missing" if on_disk[f.name] is None else f"{f.name} differs"
            for f in changed
        ]
        timer_state = systemctl.state(timer.name)
        if not systemctl.state(service.name).enabled:
            reasons.append(f"{service.name} does not run at boot")
        if not (timer_state.enabled and timer_state.active):
            reasons.append(f"{timer.name} is not running")
        if reasons:
            reason = "; ".join(dict.fromkeys(reasons))
            return drift(reason, RenewalPlan(changed, remove=False, reason=reason))
        return good(f"{timer.name} renews the certificate twice a day and at boot")

    def apply(self, ctx: Context, plan: RenewalPlan) -> str:
        service, timer = (
            renewal_units.service_name_for(ctx.settings.service_name),
            renewal_units.timer_name_for(ctx.settings.service_name),
        )
        if plan.remove:
            for name in (timer, service):
                systemctl.disable(name)
            systemctl.stop(timer)
            for file in plan.files:
                units.remove(file.path)
            systemctl.daemon_reload()
            return "removed the renewal timer (your own certificate)"
        for file in plan.files:
            assert file.text is not None
            units.install(file.path, file.text)
        # Enabling reloads the daemon, which reads the files just written.
        systemctl.enable(service, timer)
        systemctl.start(timer)
        return f"{timer} renews the certificate twice a day and at boot, never restarting Jupyter"
