"""The renewal timer and its boot-time unit: installed by init next to the Jupyter unit,
left alone when right, repaired when not, removed for the user's own certificate and by
uninstall (stand-in systemd); the rendered units pass systemd-analyze verify."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from jupyter_bootstrap.service import renewal_units
from tests.support.cli import flat, init_on_port, invoke
from tests.support.fake_systemd import UNIT, FakeSystemd
from tests.support.report import step_states
from tests.unit.test_unit_template import systemd_analyze_verify

SERVICE, TIMER = "jupyter-certificate.service", "jupyter-certificate.timer"


def directives(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


@pytest.fixture
def installed(fake: FakeSystemd, jupyter_prefix: Path, port: int) -> FakeSystemd:
    output = init_on_port(jupyter_prefix, port)
    assert step_states(output)["renewal"] == "changed", output
    return fake


def test_init_installs_a_timer_and_a_boot_unit_that_renew_without_root(
    installed: FakeSystemd, home: Path
) -> None:
    # One enable for both, which reloads the daemon: no daemon-reload of our own.
    assert installed.changes(None)[-2:] == [
        ["enable", "--quiet", SERVICE, TIMER],
        ["start", TIMER],  # not the service: it runs at the timer's ticks and at boot
    ]
    service = directives((installed.unit_dir / SERVICE).read_text())
    program = f'"{sys.executable}" "-m" "jupyter_bootstrap" "cert" "renew"'
    assert f"ExecStart={program}" in service
    assert "Type=oneshot" in service and f"Before={UNIT}" in service
    assert "WantedBy=multi-user.target" in service  # at boot, before Jupyter
    assert f"WorkingDirectory={home}" in service
    # Our own knobs as init saw them: here the tests' "never ask the metadata service".
    assert 'Environment="JUPYTER_BOOTSTRAP_METADATA_URL=off"' in service
    assert not any(line.startswith("AmbientCapabilities") for line in service)  # self-signed
    timer = directives((installed.unit_dir / TIMER).read_text())
    assert "OnCalendar=*-*-* 00,12:00:00" in timer and "Persistent=true" in timer


def test_a_second_init_leaves_them_alone(
    installed: FakeSystemd, jupyter_prefix: Path, port: int
) -> None:
    installed.clear_calls()
    assert step_states(init_on_port(jupyter_prefix, port))["renewal"] == "ok"
    assert installed.changes(None) == []


def test_a_stopped_timer_and_a_deleted_unit_are_repaired(
    installed: FakeSystemd, jupyter_prefix: Path, port: int
) -> None:
    installed.set_unit(TIMER, active=False)
    (installed.unit_dir / SERVICE).unlink()
    status = invoke("status")
    assert status.exit_code == 3
    assert f"{SERVICE} is missing" in flat(status.output)
    assert f"{TIMER} is not running" in flat(status.output)
    installed.clear_calls()
    assert step_states(init_on_port(jupyter_prefix, port))["renewal"] == "changed"
    assert (installed.unit_dir / SERVICE).exists()
    assert ["start", TIMER] in installed.changes(TIMER)
    assert installed.changes() == []  # Jupyter itself is not touched


def test_own_certificate_needs_no_timer_of_ours(
    installed: FakeSystemd, jupyter_prefix: Path, port: int, home: Path
) -> None:
    certs = home / "certs"
    pem = (certs / "mycert.pem").read_bytes()
    split = pem.index(b"-----BEGIN CERTIFICATE-----")
    (home / "key.pem").write_bytes(pem[:split])
    (home / "cert.pem").write_bytes(pem[split:])
    flags = ("--certfile", str(home / "cert.pem"), "--keyfile", str(home / "key.pem"))
    output = init_on_port(jupyter_prefix, port, *flags)
    assert step_states(output)["renewal"] == "changed"
    assert not (installed.unit_dir / SERVICE).exists()
    assert not (installed.unit_dir / TIMER).exists()


def test_no_service_no_timer(fake: FakeSystemd, jupyter_prefix: Path, port: int) -> None:
    output = init_on_port(jupyter_prefix, port, "--no-service")
    assert "jupyter-bootstrap cert renew" in flat(output)
    assert fake.calls() == []


def test_uninstall_removes_them(installed: FakeSystemd) -> None:
    installed.clear_calls()
    assert invoke("uninstall", "--yes").exit_code == 0
    assert not (installed.unit_dir / SERVICE).exists()
    assert not (installed.unit_dir / TIMER).exists()
    assert ["disable", "--quiet", TIMER] in installed.changes(TIMER)


def test_a_foreign_unit_of_that_name_is_left_alone(
    fake: FakeSystemd, jupyter_prefix: Path, port: int
) -> None:
    (fake.unit_dir / TIMER).write_text("[Timer]\nOnCalendar=daily\n")
    output = init_on_port(jupyter_prefix, port, code=2)
    assert "was not written by jupyter-bootstrap" in flat(output)
    assert (fake.unit_dir / TIMER).read_text() == "[Timer]\nOnCalendar=daily\n"
    # Told before anything changed: the Jupyter unit is not there either.
    assert not (fake.unit_dir / UNIT).exists() and fake.changes(None) == []


@pytest.mark.parametrize("privileged", [False, True])
def test_systemd_analyze_verify_accepts_both_units(tmp_path: Path, privileged: bool) -> None:
    values = renewal_units.RenewalValues(
        service_name="jupyter",
        user="root",
        group="root",
        home=tmp_path,
        program=sys.executable,
        environment=("JUPYTER_BOOTSTRAP_METADATA_URL=http://127.0.0.1:1/ 50% $x",),
        privileged_ports=privileged,
    )
    folder = tmp_path / "units"
    folder.mkdir()
    (folder / SERVICE).write_text(renewal_units.render_service(values))
    (folder / TIMER).write_text(renewal_units.render_timer(values))
    for name in (SERVICE, TIMER):
        result = systemd_analyze_verify(folder / name)
        complaints = [line for line in result.stderr.splitlines() if "certificate" in line]
        assert result.returncode == 0 and not complaints, result.stderr
    service = directives((folder / SERVICE).read_text())
    assert ("AmbientCapabilities=CAP_NET_BIND_SERVICE" in service) is privileged
