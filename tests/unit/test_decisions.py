"""Each step's decision as data: given these facts, expect this plan. No machine, no fakes:
the `decide` functions take what the checks read and return what apply will do, including
whether the running server must restart (a restart kills every kernel)."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path
from typing import Any, NamedTuple, Optional

import pytest

from jupyter_bootstrap import certs, jupyter_hash, kernelspecs, managed_block, stop_when_idle
from jupyter_bootstrap.certificate_facts import CertificateInfo
from jupyter_bootstrap.conda import CondaInstall, PrefixState
from jupyter_bootstrap.conda_installers import Installer
from jupyter_bootstrap.errors import UserError
from jupyter_bootstrap.service import extra_units
from jupyter_bootstrap.service.process import Process
from jupyter_bootstrap.service.systemctl import UnitState
from jupyter_bootstrap.steps import certificate, conda, config, password, service
from tests.support.stock_instance import STOCK_UNIT_VALUES

# -- service ------------------------------------------------------------------------------

UNIT_TEXT = "# Managed by jupyter-bootstrap.\n[Service]\n"
WANT = service.Wanted(
    unit="jupyter.service",
    path=Path("/etc/systemd/system/jupyter.service"),
    values=STOCK_UNIT_VALUES,
    text=UNIT_TEXT,
    certfile=Path("/home/ubuntu/certs/mycert.pem"),
    keyfile=Path("/home/ubuntu/certs/mycert.pem"),
)


def unit_state(active: str = "active", sub: str = "running", enabled: bool = True) -> UnitState:
    return UnitState(
        load_state="loaded",
        active_state=active,
        sub_state=sub,
        unit_file_state="enabled" if enabled else "disabled",
        main_pid=4242 if active == "active" else None,
        active_since_monotonic=1.0 if active == "active" else None,
        fragment_path=str(WANT.path),
    )


# (unit file on disk, systemd's state, reasons the server is stale) ->
# (write the unit, enable, start/restart, restart reasons)
SERVICE_TABLE = [
    pytest.param(UNIT_TEXT, unit_state(), [], None, id="converged: nothing"),
    pytest.param(
        None,
        unit_state("inactive", "dead", enabled=False),
        [],
        (True, True, "start", ()),
        id="fresh machine: write, enable, start",
    ),
    pytest.param(
        UNIT_TEXT,
        unit_state("inactive", "dead", enabled=False),
        [],
        (False, True, "start", ()),
        id="stopped and disabled by hand: enable, start",
    ),
    pytest.param(
        UNIT_TEXT,
        unit_state(),
        ["Jupyter config changed"],
        (False, False, "restart", ("Jupyter config changed",)),
        id="config content changed: restart once",
    ),
    pytest.param(
        UNIT_TEXT + "# edited\n",
        unit_state(),
        [service.FILES_CHANGED],
        (True, False, "restart", (service.FILES_CHANGED,)),
        id="unit differs: rewrite, restart",
    ),
    pytest.param(
        UNIT_TEXT,
        unit_state("activating", "auto-restart"),
        [],
        (False, False, "restart", ("it was activating (auto-restart)",)),
        id="crash-looping: restart afresh",
    ),
    pytest.param(
        UNIT_TEXT,
        unit_state(enabled=False),
        [],
        (False, True, None, ()),
        id="running but disabled: enable only, kernels live on",
    ),
    pytest.param(
        None,
        unit_state(),
        [],
        (True, False, None, ()),
        id="running, unit file deleted: write it back, no restart",
    ),
]


def test_a_running_unit_whose_port_another_program_holds_is_restarted() -> None:
    """Looks running between two of systemd's restarts; a restart brings it back once the
    port is free (the preflight names the holder first)."""
    holder = "port 8888 is already in use by process 77 (python3 -m http.server)"
    problems, plan = service.decide(WANT, UNIT_TEXT, unit_state(), [], holder)
    assert problems == [f"{WANT.unit} keeps restarting: Jupyter cannot start while {holder}"]
    assert plan is not None
    assert (plan.write_unit, plan.enable, plan.start, plan.reasons) == (
        False, False, "restart", ("its port was in use",),
    )  # fmt: skip
    # What else calls for a restart is still said.
    _, plan = service.decide(WANT, UNIT_TEXT, unit_state(), [service.FILES_CHANGED], holder)
    assert plan is not None and plan.reasons == ("its port was in use", service.FILES_CHANGED)
    # Not running: started as any stopped unit is, whatever holds the port.
    _, plan = service.decide(WANT, UNIT_TEXT, unit_state("inactive", "dead"), [], holder)
    assert plan is not None and plan.start == "start"


@pytest.mark.parametrize(("text", "state", "reasons", "expected"), SERVICE_TABLE)
def test_service_decision(
    text: Optional[str],
    state: UnitState,
    reasons: list[str],
    expected: Optional[tuple[bool, bool, Optional[str], tuple[str, ...]]],
) -> None:
    problems, plan = service.decide(WANT, text, state, reasons)
    if expected is None:
        assert plan is None and problems == []
        return
    assert plan is not None and problems
    assert (plan.write_unit, plan.enable, plan.start, plan.reasons) == expected
    assert plan.restart_reason is None  # the service step restarts by itself, once


# -- config -------------------------------------------------------------------------------

CONFIG = Path("/home/ubuntu/.jupyter/jupyter_server_config.py")
BLOCK = managed_block.render("", "c.ServerApp.port = 8888\n")


def block(port: int) -> str:
    return BLOCK.replace("8888", str(port))


# (file as it is, its mode, file as it should be) ->
# (new text written?, backup kept?, mode only?)
CONFIG_TABLE = [
    pytest.param(BLOCK, 0o600, BLOCK, None, id="converged: nothing"),
    pytest.param("", None, BLOCK, (True, False, False), id="no file: write it"),
    pytest.param(BLOCK, 0o644, BLOCK, (False, False, True), id="mode only: chmod, no rewrite"),
    pytest.param(
        block(9999), 0o600, BLOCK, (True, False, False), id="our block drifted: rewrite it"
    ),
    pytest.param(
        "c.Mine = 1\n",
        0o600,
        "c.Mine = 1\n" + BLOCK,
        (True, True, False),
        id="user's file without our block: add it, back up theirs first",
    ),
]


@pytest.mark.parametrize(("existing", "mode", "updated", "expected"), CONFIG_TABLE)
def test_config_decision(
    existing: str, mode: Optional[int], updated: str, expected: Optional[tuple[bool, bool, bool]]
) -> None:
    problems, text, backup, fix_mode = config.decide(CONFIG, existing, updated, mode)
    if expected is None:
        assert (problems, text, backup, fix_mode) == ([], None, None, False)
        return
    assert problems
    assert (text is not None, backup is not None, fix_mode) == expected
    if text is not None:
        assert text == updated


def config_plan(
    text: Optional[str], fix_mode: bool, create_root: bool = False
) -> config.ConfigPlan:
    root = Path("/home/ubuntu/Notebooks") if create_root else None
    return config.ConfigPlan(CONFIG, text, None, fix_mode, None, root)


def test_only_new_config_bytes_restart_the_server() -> None:
    assert config_plan(BLOCK, False).restart_reason == config.CONFIG_CHANGED
    assert config_plan(None, True).restart_reason is None  # chmod 644: kernels survive
    assert config_plan(None, False, create_root=True).restart_reason is None
    assert "set its mode to 600" in config_plan(None, True).action


NOTEBOOK_CONFIG = Path("/home/ubuntu/.jupyter/jupyter_notebook_config.py")
SEED_TUTORIAL = (
    "c = get_config()\n"
    "# Kernel config\n"
    "c.IPKernelApp.pylab = 'inline'\n"
    "c.NotebookApp.certfile = u'/home/ubuntu/certs/mycert.pem'\n"
    "c.NotebookApp.ip = '*'\n"
    "c.NotebookApp.open_browser = False\n"
    "c.NotebookApp.password = u'sha1:0123456789ab:" + "0" * 40 + "'\n"
    "# It is a good idea to put it on a known, fixed port\n"
    "c.NotebookApp.port = 8888\n"
)
SEED_KEPT = (
    "c = get_config()\n"
    "# Kernel config\n"
    "c.IPKernelApp.pylab = 'inline'\n"
    "# It is a good idea to put it on a known, fixed port\n"
)

# (config kind we write, the classic Notebook config as it is) -> (kept text, moved keys)
LEGACY_TABLE = [
    pytest.param(
        "server",
        SEED_TUTORIAL,
        (SEED_KEPT, ("certfile", "ip", "open_browser", "password", "port")),
        id="the old tutorial's config: its NotebookApp lines out, the rest stays",
    ),
    pytest.param("notebook", SEED_TUTORIAL, None, id="classic Notebook: that file is ours"),
    pytest.param("server", None, None, id="no classic config: nothing"),
    pytest.param("server", "c.NotebookApp.token = ''\n", None, id="a key we do not set: stays"),
    pytest.param(
        "server",
        "c.NotebookApp.notebook_dir = (\n    '/data'\n)\nc.NotebookApp.keyfile = 'k'\n",
        ("", ("notebook_dir", "keyfile")),
        id="a statement over several lines goes whole",
    ),
    pytest.param(
        "server",
        "x = 1; c.NotebookApp.ip = '*'\nif x:\n    c.NotebookApp.port = 1\n",
        None,
        id="sharing a line or nested in a block: left alone",
    ),
    pytest.param("server", "c.NotebookApp.ip = (\n", None, id="does not parse: left alone"),
]


@pytest.mark.parametrize(("kind", "original", "expected"), LEGACY_TABLE)
def test_legacy_notebook_lines_decision(
    kind: str, original: Optional[str], expected: Optional[tuple[str, tuple[str, ...]]]
) -> None:
    data = original.encode() if original is not None else None
    rewrite = config.decide_legacy(kind, NOTEBOOK_CONFIG, data)
    if expected is None:
        assert rewrite is None
        return
    assert rewrite is not None
    kept, keys = expected
    assert rewrite.kept == kept
    assert rewrite.moved == tuple(f"NotebookApp.{key}" for key in keys)
    assert rewrite.original == data  # what the backup will hold


def test_moving_legacy_lines_restarts_the_server() -> None:
    """Notebook 7 reads jupyter_notebook_config.py at start: taking lines out of it is a
    change the running server has not loaded, even when our own file is right."""
    rewrite = config.decide_legacy("server", NOTEBOOK_CONFIG, SEED_TUTORIAL.encode())
    plan = config_plan(None, False)._replace(legacy=rewrite)
    assert plan.restart_reason == config.CONFIG_CHANGED
    assert "jupyter_notebook_config.py" in plan.action


# -- certificate --------------------------------------------------------------------------

NAMES = ["localhost", "127.0.0.1", "ec2-3-8-1-2.eu-west-2.compute.amazonaws.com"]


def cert(dns: list[str], ips: list[str]) -> CertificateInfo:
    far = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=3000)
    return CertificateInfo(
        not_after=far,
        dns_names=frozenset(dns),
        ip_addresses=frozenset(ips),
        fingerprint_sha256="AA:BB",
        key_matches=True,
        self_issued=True,
        not_before=far - datetime.timedelta(days=365),
        issuer="localhost (jupyter-bootstrap)",
        names=(*dns, *ips),
    )


COVERING = cert(["localhost", "ec2-3-8-1-2.eu-west-2.compute.amazonaws.com"], ["127.0.0.1"])

# (the pair, why unusable, what is wrong with owners/modes) -> (regenerate?, reason)
CERTIFICATE_TABLE = [
    pytest.param(COVERING, "", "", (None, ""), id="converged: nothing"),
    pytest.param(
        None,
        "/c/mycert.pem holds no private key",
        "",
        (True, "/c/mycert.pem holds no private key"),
        id="key lost: regenerate",
    ),
    pytest.param(
        cert(["localhost"], ["127.0.0.1"]),
        "",
        "",
        (True, "certificate does not cover ec2-3-8-1-2.eu-west-2.compute.amazonaws.com"),
        id="new public name after stop/start: regenerate",
    ),
    pytest.param(
        COVERING,
        "",
        "/c/mycert.pem has mode 644, should be 600",
        (False, "/c/mycert.pem has mode 644, should be 600"),
        id="modes only: keep the certificate the browser trusts",
    ),
]


@pytest.mark.parametrize(("info", "problem", "ownership", "expected"), CERTIFICATE_TABLE)
def test_certificate_decision(
    info: Optional[CertificateInfo],
    problem: str,
    ownership: str,
    expected: tuple[Optional[bool], str],
) -> None:
    assert certificate.decide(info, problem, NAMES, ownership) == expected


def test_no_certificate_change_asks_for_a_restart() -> None:
    """The server reads its one certificate file for every new connection: a new one is
    served without a restart, so running kernels live on."""
    for regenerate in (True, False):
        plan = certificate.CertificatePlan(
            Path("/c/mycert.pem"), regenerate, tuple(NAMES), "ec", "x"
        )
        assert plan.restart_reason is None


def ca_leaf(life: datetime.timedelta, left: datetime.timedelta) -> CertificateInfo:
    """The facts of a leaf a CA issued for NAMES' IP address: its issuer is not its
    subject."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(text: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    key = ec.generate_private_key(ec.SECP256R1())
    expires = datetime.datetime.now(datetime.timezone.utc) + left
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name("3.8.1.2"))
        .issuer_name(name("a test CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(expires - life)
        .not_valid_after(expires)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("3.8.1.2"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return certs.inspect(leaf.public_bytes(serialization.Encoding.PEM), key_pem)


DAY = datetime.timedelta(days=1)
HOUR = datetime.timedelta(hours=1)

# (its life, what is left, init/status or the renewal timer) -> re-order now?
# init and status hold a CA certificate to its last day (or its last third, when it lives
# under three days), the renewal timer to its last third, as the CA's own clients do.
CA_ORDER_TABLE = [
    pytest.param(90 * DAY, 60 * DAY, False, False, id="fresh: nothing"),
    pytest.param(90 * DAY, 20 * DAY, False, False, id="last third, init: the timer's job"),
    pytest.param(90 * DAY, 20 * DAY, True, True, id="last third, renewal: re-order"),
    pytest.param(90 * DAY, 12 * HOUR, False, True, id="under a day left, init: re-order"),
    pytest.param(6 * DAY, 36 * HOUR, False, False, id="short-lived, 36 h left: nothing yet"),
    pytest.param(6 * DAY, 20 * HOUR, False, True, id="short-lived, under a day: re-order"),
    pytest.param(2 * DAY, 20 * HOUR, False, False, id="two-day test CA: its own third"),
    pytest.param(2 * DAY, 10 * HOUR, False, True, id="two-day test CA, last third: re-order"),
]


@pytest.mark.parametrize(("life", "left", "renew", "reorder"), CA_ORDER_TABLE)
def test_when_a_certificate_from_the_ca_is_ordered_again(
    life: datetime.timedelta, left: datetime.timedelta, renew: bool, reorder: bool
) -> None:
    from types import SimpleNamespace

    options = SimpleNamespace(renew=renew, force_renew=False)
    why = certificate._why_order(
        SimpleNamespace(options=options),  # type: ignore[arg-type]
        ca_leaf(life, left),
        ["3.8.1.2"],
    )
    assert bool(why) is reorder, why


def test_a_new_name_or_force_orders_again_whatever_is_left() -> None:
    from types import SimpleNamespace

    leaf = ca_leaf(90 * DAY, 60 * DAY)
    quiet = SimpleNamespace(options=SimpleNamespace(renew=False, force_renew=False))
    forced = SimpleNamespace(options=SimpleNamespace(renew=True, force_renew=True))
    assert certificate._why_order(quiet, leaf, ["3.8.1.2", "3.9.9.9"]) == (  # type: ignore[arg-type]
        "certificate does not cover 3.9.9.9"
    )
    assert certificate._why_order(forced, leaf, ["3.8.1.2"]) == "renewal asked for (--force)"  # type: ignore[arg-type]


# -- conda --------------------------------------------------------------------------------

PREFIX = Path("/home/ubuntu/anaconda3")
INSTALLER = Installer(
    distribution="anaconda",
    url="http://127.0.0.1:9/Anaconda3-2024.10-1-Linux-x86_64.sh",
    filename="Anaconda3-2024.10-1-Linux-x86_64.sh",
    sha256=None,
    hash_url=None,
)


def found(state: PrefixState, problem: str = "") -> CondaInstall:
    return CondaInstall(PREFIX, state, "default", "anaconda", problem=problem)


def never() -> Installer:
    raise AssertionError("no installer is needed for this prefix")


def test_conda_ready_or_other_jupyter_is_used_as_it_is() -> None:
    assert conda.decide(found(PrefixState.READY), True, PREFIX, "ubuntu", never)[1] is None
    summary, plan = conda.decide(found(PrefixState.OTHER_JUPYTER), True, PREFIX, "ubuntu", never)
    assert plan is None and "used as it is" in summary


@pytest.mark.parametrize(
    ("state", "repair", "action"),
    [
        (PrefixState.ABSENT, False, f"download {INSTALLER.filename} and install it into {PREFIX}"),
        (PrefixState.EMPTY, False, f"download {INSTALLER.filename} and install it into {PREFIX}"),
        (PrefixState.BROKEN, True, f"repair it with {INSTALLER.filename} -u"),
    ],
)
def test_conda_installs_or_repairs(state: PrefixState, repair: bool, action: str) -> None:
    _, plan = conda.decide(found(state, "no python"), True, PREFIX, "ubuntu", lambda: INSTALLER)
    assert plan is not None
    assert (plan.repair, plan.action, plan.installer) == (repair, action, INSTALLER)
    assert plan.restart_reason is None


@pytest.mark.parametrize("state", [PrefixState.FOREIGN, PrefixState.CONDA_ENV])
def test_conda_never_touches_someone_elses_directory(state: PrefixState) -> None:
    with pytest.raises(UserError, match="left untouched"):
        conda.decide(found(state, "no conda-meta"), True, PREFIX, "ubuntu", never)


def test_conda_refuses_a_prefix_the_user_cannot_write() -> None:
    with pytest.raises(UserError, match="not writable by ubuntu"):
        conda.decide(found(PrefixState.ABSENT), False, Path("/opt"), "ubuntu", never)


# An install of ours into PREFIX that never finished (the run was killed): what the record
# says, and what the prefix holds that no installer makes (None: the prefix is a file).
STARTED = conda.CondaRecord(PREFIX, "installing", "Anaconda3-old.sh", "2026-12-01T10:00:00Z")
REINSTALL = (
    f"remove what the interrupted install left in {PREFIX} and install {INSTALLER.filename} again"
)
INSTALL = f"download {INSTALLER.filename} and install it into {PREFIX}"
REPAIR = f"repair it with {INSTALLER.filename} -u"

# (state, our unfinished record, strangers, writable) -> action (with the installer's -u or
# not, the leftovers removed first or not), or the refusal's words
INTERRUPTED_TABLE = [
    pytest.param(PrefixState.READY, STARTED, (), True, None, id="finished after all: used"),
    pytest.param(PrefixState.ABSENT, STARTED, None, True, (INSTALL, False, False), id="absent"),
    pytest.param(PrefixState.EMPTY, STARTED, (), True, (INSTALL, True, False), id="empty: -u"),
    pytest.param(
        PrefixState.FOREIGN, STARTED, (), True, (REINSTALL, False, True), id="unpacking: redo"
    ),
    pytest.param(
        PrefixState.CONDA_ENV, STARTED, (), True, (REINSTALL, False, True), id="half: redo"
    ),
    pytest.param(
        PrefixState.BROKEN, STARTED, (), True, (REINSTALL, False, True), id="broken: redo"
    ),
    pytest.param(
        PrefixState.BROKEN, STARTED, ("my-notes.txt",), True, (REPAIR, True, False),
        id="broken with user files: -u",
    ),
    pytest.param(
        PrefixState.FOREIGN, STARTED, ("thesis",), True, "holds thesis, which no conda",
        id="user data in it: refused",
    ),
    pytest.param(PrefixState.FOREIGN, STARTED, None, True, "left untouched", id="a file"),
    pytest.param(PrefixState.FOREIGN, None, (), True, "left untouched", id="no record: refused"),
    pytest.param(PrefixState.CONDA_ENV, None, (), True, "left untouched", id="no record: env"),
    pytest.param(PrefixState.BROKEN, None, (), True, (REPAIR, True, False), id="found broken"),
    pytest.param(
        PrefixState.FOREIGN, STARTED, (), False, "not writable by ubuntu", id="not writable"
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("state", "started", "strangers", "writable", "expected"), INTERRUPTED_TABLE
)
def test_conda_finishes_only_its_own_interrupted_install(
    state: PrefixState,
    started: Optional[conda.CondaRecord],
    strangers: Optional[tuple[str, ...]],
    writable: bool,
    expected: object,
) -> None:
    def decide() -> tuple[str, Optional[conda.CondaPlan]]:
        return conda.decide(
            found(state, "no conda-meta/history"), writable, PREFIX.parent, "ubuntu",
            lambda: INSTALLER, started, strangers,
        )  # fmt: skip

    if isinstance(expected, str):
        with pytest.raises(UserError, match=expected):
            decide()
        return
    summary, plan = decide()
    if expected is None:
        assert plan is None
        return
    assert plan is not None
    assert (plan.action, plan.update, plan.leftovers is not None) == expected
    assert plan.fresh == (expected != (REPAIR, True, False))  # a fresh install becomes ours
    if plan.leftovers is not None:
        assert summary == (
            f"{PREFIX} is what an install by jupyter-bootstrap that did not finish "
            "(Anaconda3-old.sh, 2026-12-01T10:00:00Z) left"
        )


# -- password -----------------------------------------------------------------------------

ARGON = "argon2:$argon2id$v=19$m=10240,t=10,p=8$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
OTHER = ARGON.replace("aGFzaG", "b3RoZX")
SHA1 = "sha1:0123456789ab:" + "0" * 40

ASK, TYPED, GIVEN, ADOPTED = (
    password.Source.ASK,
    password.Source.TYPED,
    password.Source.GIVEN,
    password.Source.ADOPTED,
)


class Told(NamedTuple):
    """What this run was told, and whether a terminal can be asked."""

    typed: Optional[str] = None
    given: Optional[str] = None
    reset: bool = False
    stdin: bool = False
    tty: bool = False


# (saved, found in a hand-made config, what the run was told) -> plan source
PASSWORD_TABLE = [
    pytest.param(ARGON, None, Told(), None, id="set: nothing"),
    pytest.param(None, None, Told(), ASK, id="first run: ask"),
    pytest.param(None, SHA1, Told(), ADOPTED, id="hand-made sha1, no terminal: keep (warned)"),
    pytest.param(ARGON, None, Told(typed=OTHER), TYPED, id="typed: store"),
    pytest.param(ARGON, None, Told(typed=ARGON, reset=True), None, id="typed and stored: done"),
    pytest.param(ARGON, None, Told(given=OTHER), GIVEN, id="given: store"),
    pytest.param(OTHER, None, Told(given=OTHER, reset=True), None, id="given, stored, reset: done"),
    pytest.param(ARGON, None, Told(reset=True), ASK, id="reset: ask"),
    pytest.param("argon2:broken", None, Told(), ASK, id="malformed"),
    # A found sha1 hash is never taken over silently, and what the user gives always wins.
    pytest.param(None, SHA1, Told(tty=True), ASK, id="hand-made sha1, terminal: ask"),
    pytest.param(None, SHA1, Told(stdin=True), ASK, id="hand-made sha1, --password-stdin: read"),
    pytest.param(None, SHA1, Told(typed=OTHER), TYPED, id="hand-made sha1, typed: store typed"),
    pytest.param(None, SHA1, Told(given=OTHER), GIVEN, id="hand-made sha1, given: store given"),
    pytest.param(None, SHA1, Told(reset=True), ASK, id="hand-made sha1, reset: ask"),
    pytest.param(None, ARGON, Told(tty=True), ADOPTED, id="hand-made argon2: keep"),
    pytest.param(None, ARGON, Told(stdin=True), ASK, id="hand-made argon2, --password-stdin: read"),
    pytest.param(ARGON, None, Told(stdin=True), ASK, id="set, --password-stdin: read"),
    pytest.param(SHA1, None, Told(tty=True), None, id="saved sha1: nothing (warned)"),
]


@pytest.mark.parametrize(("saved", "adoptable", "run", "expected"), PASSWORD_TABLE)
def test_password_decision(
    saved: Optional[str], adoptable: Optional[str], run: Told, expected: Optional[password.Source]
) -> None:
    saved_kind = None if saved is None else jupyter_hash.kind(saved)
    _, plan = password.decide(
        saved, saved_kind, run.typed, run.given, run.reset, adoptable, run.stdin, run.tty
    )
    assert (plan.source if plan else None) == expected
    if plan is not None:
        assert plan.restart_reason is None  # the new hash reaches Jupyter through the config
        stored = {ASK: None, TYPED: run.typed, GIVEN: run.given, ADOPTED: adoptable}
        assert plan.new_hash == stored[plan.source]


def test_a_weak_found_hash_is_said_before_the_prompt() -> None:
    summary, plan = password.decide(None, None, None, None, False, SHA1, False, True)
    assert plan is not None and plan.replaces_weak and "weak" in summary
    for run in (Told(tty=True), Told(stdin=True), Told(reset=True, tty=True)):
        _, plan = password.decide(None, None, None, None, run.reset, ARGON, run.stdin, run.tty)
        assert plan is not None and not plan.replaces_weak


# -- service: what systemd really runs ------------------------------------------------------

OURS = ("/home/ubuntu/anaconda3/bin/python", "/home/ubuntu/anaconda3/bin/jupyter-notebook")
CONFIG_ARG = f"--config={STOCK_UNIT_VALUES.config_file}"


def main_process(argv: tuple[str, ...], uid: int = 1000, cgroup: str = "") -> Process:
    return Process(4242, argv, uid, cgroup or f"/system.slice/{WANT.unit}")


RUNNING_TABLE = [
    pytest.param(unit_state(), None, [], id="ours, as systemd loaded it: nothing"),
    pytest.param(unit_state(), main_process((*OURS, CONFIG_ARG)), [], id="ours, after exec"),
    pytest.param(
        unit_state(),
        main_process((OURS[0], "/home/ubuntu/anaconda3/bin/jupyter", "notebook", CONFIG_ARG)),
        [],
        id="ours, before exec",
    ),
    pytest.param(
        unit_state(),
        main_process((*OURS, CONFIG_ARG, "--ServerApp.port=9999")),
        [f"the running server was started with {CONFIG_ARG} --ServerApp.port=9999"],
        id="edited and restarted by hand",
    ),
    pytest.param(
        unit_state(),
        main_process(("/lib/systemd/systemd", "--user"), uid=0),
        [],
        id="systemd's child before its exec",
    ),
    pytest.param(
        unit_state(),
        main_process(OURS),
        [],
        id="caught between two execs, no arguments yet",
    ),
    pytest.param(
        unit_state(),
        main_process(("/usr/bin/sleep", "100"), cgroup="/user.slice/session-1.scope"),
        [],
        id="a pid outside the unit tells nothing",
    ),
    pytest.param(
        unit_state()._replace(user="alice"),
        None,
        ["systemd runs it as alice, not ubuntu"],
        id="loaded for another user",
    ),
    pytest.param(
        unit_state()._replace(need_daemon_reload=True),
        None,
        [],
        id="file touched, not reloaded: what runs is still ours",
    ),
    pytest.param(
        unit_state("inactive", "dead"),
        main_process((*OURS, "--other")),
        [],
        id="nothing runs: nothing to compare",
    ),
]


@pytest.mark.parametrize(("state", "main", "expected"), RUNNING_TABLE)
def test_what_systemd_runs_is_compared_with_what_we_want(
    state: UnitState, main: Optional[Process], expected: list[str]
) -> None:
    assert service.running_differs(WANT, state, main) == expected


def test_a_stale_load_is_reloaded_without_a_restart() -> None:
    """A touched unit file or a changed drop-in: systemd re-reads it, the kernels live on.
    (A run killed between writing the unit and reloading is restarted all the same: the
    record of what the server was started with no longer matches.)"""
    state = unit_state()._replace(need_daemon_reload=True)
    reasons = service.running_differs(WANT, state, None)
    _, plan = service.decide(WANT, UNIT_TEXT, state, reasons)
    assert plan is not None
    assert (plan.write_unit, plan.reload, plan.start) == (False, True, None)
    _, plan = service.decide(WANT, UNIT_TEXT, state, [service.FILES_CHANGED])
    assert plan is not None and plan.start == "restart"


def test_a_unit_edited_by_hand_while_running_is_rewritten_and_restarted() -> None:
    _, plan = service.decide(WANT, UNIT_TEXT + "# edited\n", unit_state(), [])
    assert plan is not None
    assert (plan.write_unit, plan.reload, plan.start) == (True, True, "restart")
    assert plan.reasons == (service.UNIT_EDITED,)


# -- kernels for environments -------------------------------------------------------------------

ENVS = Path("/home/ubuntu/anaconda3/envs")


def env(name: str, ipykernel: bool = True, python: bool = True, changed_at: float = 0.0) -> Any:
    path = ENVS / name
    return kernelspecs.Environment(
        path, path / "bin" / "python" if python else None, ipykernel and python, True, changed_at
    )


def ours(name: str, environment: str, text: Optional[str] = None) -> kernelspecs.FoundSpec:
    path = ENVS / environment
    return kernelspecs.FoundSpec(
        name, Path("/k") / name, text or kernelspecs.kernel_json(env(environment)), path,
        str(path / "bin" / "python"),
    )  # fmt: skip


def yours(name: str, python: str) -> kernelspecs.FoundSpec:
    return kernelspecs.FoundSpec(name, Path("/k") / name, "{}", None, python)


# (environments, kernelspecs found) -> (written, removed, environments with yours)
KERNELS_TABLE = [
    pytest.param([], [], ([], [], []), id="nothing at all: nothing"),
    pytest.param([env("proj")], [], (["env-proj"], [], []), id="a new environment: its kernel"),
    pytest.param([env("proj")], [ours("env-proj", "proj")], ([], [], []), id="converged"),
    pytest.param(
        [env("proj")],
        [ours("env-proj", "proj", text="{}")],
        (["env-proj"], [], []),
        id="ours edited: written again",
    ),
    pytest.param([], [ours("env-proj", "proj")], ([], ["env-proj"], []), id="environment gone"),
    pytest.param(
        [env("proj", ipykernel=False)],
        [ours("env-proj", "proj")],
        ([], ["env-proj"], []),
        id="ipykernel gone: ours goes",
    ),
    pytest.param(
        [env("proj")],
        [yours("mine", "/opt/x/bin/python")],
        (["env-proj"], [], []),
        id="yours elsewhere: untouched, ours made",
    ),
    pytest.param(
        [env("proj")],
        [yours("p", f"{ENVS}/proj/bin/python"), ours("env-proj", "proj")],
        ([], ["env-proj"], ["p"]),
        id="yours runs it: none of ours",
    ),
    pytest.param(
        [env("proj")],
        [yours("env-proj", "/opt/x/bin/python")],
        (["env-proj-2"], [], []),
        id="name taken by yours: another",
    ),
    pytest.param(
        [env("Data Sci!")],
        [],
        (["env-data-sci"], [], []),
        id="a name Jupyter can take",
    ),
    pytest.param(
        [env("proj")],
        [ours("env-proj-old", "proj")],
        ([], [], []),
        id="an earlier name of ours is kept",
    ),
    pytest.param(
        [env("proj")],
        [ours("env-proj", "proj"), ours("env-proj-2", "proj")],
        ([], ["env-proj-2"], []),
        id="two of ours for one environment: one goes",
    ),
    pytest.param([env("r", python=False)], [], ([], [], []), id="no Python: no kernel"),
]


@pytest.mark.parametrize(("environments", "found", "expected"), KERNELS_TABLE)
def test_kernels_decision(
    environments: list[kernelspecs.Environment],
    found: list[kernelspecs.FoundSpec],
    expected: tuple[list[str], list[str], list[str]],
) -> None:
    plan = kernelspecs.decide(environments, found)
    written = [w.name for w in plan.write]
    removed = [s.name for s in plan.remove]
    assert (written, removed, [name for _, name in plan.yours]) == expected
    # Only ever ours: a kernelspec without our mark is never written over or removed.
    theirs = {s.name for s in found if not s.ours}
    assert not theirs & {*written, *removed}


def test_kernels_off_removes_every_one_of_ours_and_no_other() -> None:
    found = [ours("env-proj", "proj"), yours("mine", "/opt/x/bin/python")]
    plan = kernelspecs.decide([env("proj")], found, enabled=False)
    assert ([s.name for s in plan.remove], plan.write) == (["env-proj"], ())


def test_an_environment_still_being_made_is_waited_for() -> None:
    assert env("proj", ipykernel=False, changed_at=1000.0).settling(1000.0 + 30)
    assert not env("proj", ipykernel=False, changed_at=1000.0).settling(1000.0 + 600)
    assert not env("proj", changed_at=1000.0).settling(1000.0 + 30)


# -- units beside Jupyter's (the watcher of environments, the stop-when-idle timer) --------------

SERVICE_FILE = extra_units.UnitFile("x.service", Path("/u/x.service"), "# service\n")
TRIGGER_FILE = extra_units.UnitFile("x.timer", Path("/u/x.timer"), "# timer\n")
BOTH = {"x.service": "# service\n", "x.timer": "# timer\n"}

# (files on disk, the trigger's state, wanted) -> (files written or removed, remove, restart)
UNITS_TABLE = [
    pytest.param(BOTH, unit_state(), True, None, id="converged: nothing"),
    pytest.param({}, unit_state("inactive", "dead", False), True,
                 (["x.service", "x.timer"], False, False), id="fresh: write both, start"),
    pytest.param(BOTH, unit_state("inactive", "dead"), True, ([], False, False),
                 id="stopped by hand: start again"),
    pytest.param({**BOTH, "x.timer": "# old\n"}, unit_state(), True, (["x.timer"], False, True),
                 id="trigger changed while running: restart it"),
    pytest.param({**BOTH, "x.service": "# old\n"}, unit_state(), True,
                 (["x.service"], False, False), id="service changed: the next run reads it"),
    pytest.param(BOTH, unit_state(), False, (["x.service", "x.timer"], True, False),
                 id="turned off: both go"),
    pytest.param({}, unit_state("inactive", "dead", False), False, None, id="off and gone"),
]  # fmt: skip


@pytest.mark.parametrize(("on_disk", "state", "keep", "expected"), UNITS_TABLE)
def test_units_decision(
    on_disk: dict[str, str],
    state: UnitState,
    keep: bool,
    expected: Optional[tuple[list[str], bool, bool]],
) -> None:
    _, plan = extra_units.decide([SERVICE_FILE, TRIGGER_FILE], on_disk, state, keep)
    if expected is None:
        assert plan is None
        return
    assert plan is not None
    assert ([f.name for f in plan.files], plan.remove, plan.restart_trigger) == expected


# -- stopping when idle ---------------------------------------------------------------------------

NOW = datetime.datetime(2026, 12, 2, 15, 0, tzinfo=datetime.timezone.utc)
AFTER = 3 * 3600


def hours_ago(hours: float) -> datetime.datetime:
    return NOW - datetime.timedelta(hours=hours)


def seen(
    running: bool = True,
    last_activity: float = 4.0,
    busy: int = 0,
    connections: int = 0,
    sessions: tuple[str, ...] = (),
    last_in_use: Optional[float] = None,
    readable: bool = True,
) -> stop_when_idle.Observation:
    activity = stop_when_idle.Activity(
        started=hours_ago(10), last_activity=hours_ago(last_activity), kernels=busy + 1,
        busy_kernels=busy, connections=connections,
    )  # fmt: skip
    return stop_when_idle.Observation(
        unit="jupyter.service",
        running=running,
        unit_state="active (running)" if running else "inactive (dead)",
        activity=activity if running and readable else None,
        activity_problem=None if readable else "no answer on port 8888: connection refused",
        sessions=sessions,
        last_in_use=hours_ago(last_in_use) if last_in_use is not None else None,
    )


# observation -> (state, power off, a phrase of the reason)
IDLE_TABLE = [
    pytest.param(seen(), ("idle", True, "idle for 4h 00m"), id="idle 4h of 3h: power off"),
    pytest.param(seen(last_activity=1), ("idle", False, "powers off at 17:00 UTC (in 2h 00m)"),
                 id="idle 1h: not yet, and when"),
    pytest.param(seen(running=False), ("stopped", False, "stopped by hand or one that crashed"),
                 id="stopped or crashed: never"),
    pytest.param(seen(readable=False), ("unknown", False, "cannot be read (no answer"),
                 id="no answer: never"),
    pytest.param(seen(busy=1), ("in-use", False, "1 kernel busy"), id="a busy kernel"),
    pytest.param(seen(connections=2), ("in-use", False, "2 browser connections open"),
                 id="a browser tab"),
    pytest.param(seen(sessions=("ubuntu on pts/0 (from 203.0.113.7)",), last_in_use=0),
                 ("in-use", False, "logged in: ubuntu on pts/0 (from 203.0.113.7) (Jupyter "
                  "itself idle for 4h 00m); it powers off once nothing is, after 3h idle"),
                 id="an SSH login"),
    pytest.param(seen(last_in_use=0.5), ("idle", False, "idle for 30m 00s (since 14:30 UTC)"),
                 id="logged out half an hour ago: counted from then"),
]  # fmt: skip


@pytest.mark.parametrize(("observation", "expected"), IDLE_TABLE)
def test_stop_when_idle_decision(
    observation: stop_when_idle.Observation, expected: tuple[str, bool, str]
) -> None:
    verdict = stop_when_idle.decide(NOW, AFTER, observation)
    state, power_off, phrase = expected
    assert (verdict.state, verdict.power_off) == (state, power_off)
    assert phrase in verdict.reason


def test_a_clock_gone_back_does_not_postpone_for_ever() -> None:
    verdict = stop_when_idle.decide(NOW, AFTER, seen(last_activity=-5))
    assert verdict.idle_since == NOW and verdict.due_at == NOW + datetime.timedelta(hours=3)
