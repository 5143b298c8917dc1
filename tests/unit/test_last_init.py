"""How the last `init` ended, as `status` tells it later: the setup at first boot that
failed, one that still runs, one that stopped half-way. And the password a failed run was
given is kept, so the `init` that repairs it asks nothing (nobody who knows it may be there)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jupyter_bootstrap import init_record
from jupyter_bootstrap.commands.run_lock import Holder
from jupyter_bootstrap.commands.status import last_init_news
from jupyter_bootstrap.init_record import InitRecord
from jupyter_bootstrap.user_data import FIRST_BOOT_ENV
from tests.support.cli import flat, invoke
from tests.support.fake_systemd import FakeSystemd

LOG = Path("/home/ubuntu/.local/state/jupyter-bootstrap/jupyter-bootstrap.log")
STARTED = "2025-06-01T10:00:00Z"
FAILED = InitRecord(
    started_at=STARTED,
    first_boot=True,
    finished_at="2025-06-01T10:02:30Z",
    ok=False,
    step="conda",
    message="could not download https://mirror.example/Miniforge3.sh: 404 Not Found",
    hint="check the address, then run init again",
)


def test_a_failed_first_boot_is_news_with_the_way_to_repair_it() -> None:
    news = last_init_news(FAILED, None, LOG)
    assert news == [
        "The setup at first boot (cloud-init) failed 2025-06-01 10:02 UTC at the conda step: "
        "could not download https://mirror.example/Miniforge3.sh: 404 Not Found",
        "Run `jupyter-bootstrap init` to repair it: it keeps what is done, does the rest, and "
        "keeps the password given then.",
        "What the error said to check: check the address, then run init again",
        f"The whole story is in the log: {LOG}",
    ]


def test_one_that_runs_now_is_followed_not_repaired() -> None:
    running = InitRecord(started_at=STARTED, first_boot=True)
    news = last_init_news(running, Holder(4242, "init", 0.0), LOG)
    assert news[0].startswith("The setup at first boot (cloud-init) is running now (PID 4242")
    assert news[1] == f"Follow it: tail -f {LOG}"


def test_one_that_stopped_half_way_is_finished_by_init() -> None:
    stopped = InitRecord(started_at=STARTED)
    news = last_init_news(stopped, None, LOG)
    assert news[0].startswith("The last `jupyter-bootstrap init` started 2025-06-01 10:00 UTC")
    assert "stopped before it finished" in news[0]
    assert news[1].startswith("Run `jupyter-bootstrap init` to finish the setup")


@pytest.mark.parametrize("record", [None, FAILED._replace(ok=True)])
def test_nothing_to_say_when_it_went_well(record: InitRecord | None) -> None:
    assert last_init_news(record, None, LOG) == []


def test_a_failed_run_keeps_its_password_and_status_says_what_failed(
    fake: FakeSystemd, jupyter_prefix: Path, port: int, home: Path
) -> None:
    fake.fail("start")
    result = invoke(
        "init", "--prefix", str(jupyter_prefix), "--port", str(port), "--password-stdin",
        input="correct horse battery\n",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    state = home / ".local" / "state" / "jupyter-bootstrap"
    record = init_record.load(state)
    assert record is not None and record.failed and record.step == "service"
    settings = json.loads((home / ".config" / "jupyter-bootstrap" / "settings.json").read_text())
    assert settings["password_hash"].startswith("argon2:")

    status = invoke("status")
    text = flat(status.output)
    assert "The last `jupyter-bootstrap init` failed" in text
    assert "at the service step" in text
    assert "Run `jupyter-bootstrap init` to repair it" in text
    document = json.loads(invoke("status", "--json").output)
    assert document["last_init"]["ok"] is False and document["last_init"]["step"] == "service"

    fake.fail()
    repair = invoke("init")  # no flags, no stdin, no terminal: nothing to ask
    assert repair.exit_code == 0, repair.output
    assert init_record.load(state) is None  # ended well: no news
    assert "init` failed" not in flat(invoke("status").output)


def test_a_refusal_is_recorded_only_at_first_boot(
    home: Path, jupyter_prefix: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("hello\n")
    state = home / ".local" / "state" / "jupyter-bootstrap"
    args = ("init", "--prefix", str(jupyter_prefix), "--no-service", "--password-stdin")
    bad = ("--certfile", str(junk), "--keyfile", str(junk))
    assert invoke(*args, *bad, input="correct horse battery\n").exit_code == 2
    assert init_record.load(state) is None  # by hand: the user saw it, nothing is written
    monkeypatch.setenv(FIRST_BOOT_ENV, "1")
    assert invoke(*args, *bad, input="correct horse battery\n").exit_code == 2
    record = init_record.load(state)
    assert record is not None and record.failed and record.first_boot
    assert record.message is not None and "not a PEM certificate" in record.message
