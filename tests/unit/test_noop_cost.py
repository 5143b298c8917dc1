"""What a check of a converged machine costs, by what it does rather than how long it takes
(timings belong to benchmarks/run_all): how often it asks systemd."""

from __future__ import annotations

from pathlib import Path

from jupyter_bootstrap.service import systemctl
from jupyter_bootstrap.steps import STEP_NAMES
from tests.support.cli import flat, init_on_port, invoke
from tests.support.fake_systemd import UNIT, FakeSystemd
from tests.support.report import step_states

OUR_UNITS = {
    UNIT,
    "jupyter-kernels.path",
    "jupyter-stop-when-idle.timer",
    "jupyter-certificate.service",
    "jupyter-certificate.timer",
}


def shown(fake: FakeSystemd) -> list[list[str]]:
    """The units of each `systemctl show` call."""
    return [
        [arg for arg in call[1:] if arg.endswith((".service", ".timer", ".path"))]
        for call in fake.calls()
        if call[0] == "show"
    ]


def test_status_asks_systemd_once_about_every_unit(
    fake: FakeSystemd, jupyter_prefix: Path, port: int
) -> None:
    init_on_port(jupyter_prefix, port)
    fake.clear_calls()
    result = invoke("status")
    assert result.exit_code == 0, result.output
    calls = shown(fake)
    assert len(calls) == 1 and set(calls[0]) == OUR_UNITS, calls


def test_a_no_op_init_checks_once(fake: FakeSystemd, jupyter_prefix: Path, port: int) -> None:
    """Its preflight found every step right: the run takes that over instead of checking
    everything again, and prints the same lines."""
    init_on_port(jupyter_prefix, port)
    fake.clear_calls()
    result = invoke("init", input="")  # no flags: the settings are reused
    assert result.exit_code == 0, result.output
    again = result.output
    calls = shown(fake)
    assert len(calls) == 1 and set(calls[0]) == OUR_UNITS, calls
    assert fake.changes(unit=None) == []
    assert set(step_states(again).values()) == {"ok"}, again
    assert list(step_states(again)) == list(STEP_NAMES)
    assert "Jupyter runs as the service jupyter.service" in flat(again)  # the check's note


def test_a_drift_found_by_the_preflight_is_checked_again_and_repaired(
    fake: FakeSystemd, jupyter_prefix: Path, port: int
) -> None:
    init_on_port(jupyter_prefix, port)
    fake.set_unit(UNIT, active=False, pid=0)
    fake.clear_calls()
    again = invoke("init", input="").output
    assert step_states(again)["service"] == "changed", again
    assert len(shown(fake)) > 1
    assert ["start", UNIT] in fake.changes()


def test_states_read_together_are_those_asked_one_by_one(
    fake: FakeSystemd, jupyter_prefix: Path, port: int
) -> None:
    init_on_port(jupyter_prefix, port)
    fake.set_unit("jupyter-certificate.timer", active=False)
    alone = {unit: systemctl.state(unit) for unit in OUR_UNITS}
    with systemctl.read_together(sorted(OUR_UNITS)):
        together = {unit: systemctl.state(unit) for unit in OUR_UNITS}
    assert together == alone
    assert not together["jupyter-certificate.timer"].active


def test_a_change_forgets_what_was_read_together(fake: FakeSystemd) -> None:
    with systemctl.read_together([UNIT]):
        assert not systemctl.state(UNIT).active
        systemctl.start(UNIT)
        assert systemctl.state(UNIT).active
