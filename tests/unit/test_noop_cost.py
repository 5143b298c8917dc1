"""What a check of a converged machine costs, by what it does rather than how long it takes
(timings belong to benchmarks/run_all): how often it asks systemd."""

from __future__ import annotations

from pathlib import Path

from jupyter_bootstrap.service import systemctl
from tests.support.cli import init_on_port, invoke
from tests.support.fake_systemd import UNIT, FakeSystemd

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


def test_a_no_op_init_asks_systemd_once_before_its_run(
    fake: FakeSystemd, jupyter_prefix: Path, port: int
) -> None:
    init_on_port(jupyter_prefix, port)
    fake.clear_calls()
    init_on_port(jupyter_prefix, port)
    assert set(shown(fake)[0]) == OUR_UNITS
    assert fake.changes(unit=None) == []


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
