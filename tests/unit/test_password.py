"""Password: prompts, stdin, given hashes, adoption of an existing one, the password command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jupyter_bootstrap import cli, jupyter_hash
from jupyter_bootstrap.jupyter_hash import HashKind
from tests.support.cli import PASSWORD, flat, init_files_only, init_no_service, invoke
from tests.support.fake_installer import InstallerSite
from tests.support.tree import snapshot


def saved_hash(home: Path) -> str:
    data = json.loads((home / ".config" / "jupyter-bootstrap" / "settings.json").read_text())
    return str(data["password_hash"])


@pytest.fixture
def tty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_stdin_is_tty", lambda: True)


def test_prompt_reasks_on_mismatch_and_short(home: Path, jupyter_prefix: Path, tty: None) -> None:
    answers = "short\nlong-enough-1\ndifferent-22\nlong-enough-1\nlong-enough-1\n"
    result = invoke("init", "--prefix", str(jupyter_prefix), "--no-service", input=answers)
    assert result.exit_code == 0, result.output
    assert "Too short" in result.stderr and "differ" in result.stderr
    assert jupyter_hash.verify(saved_hash(home), "long-enough-1")
    assert "long-enough-1" not in result.output


def test_three_failed_tries_write_nothing(home: Path, jupyter_prefix: Path, tty: None) -> None:
    result = invoke("init", "--prefix", str(jupyter_prefix), "--no-service", input="a\nb\nc\n")
    assert result.exit_code == 2
    assert "no password set after 3 tries" in result.stderr
    assert snapshot(home) == {}


def test_interrupt_at_the_prompt_writes_nothing(
    home: Path, jupyter_prefix: Path, tty: None
) -> None:
    # End of input at the hidden prompt is what click turns Ctrl-C into as well (Abort).
    result = invoke("init", "--prefix", str(jupyter_prefix), "--no-service", input="")
    assert result.exit_code == 130
    assert snapshot(home) == {}


def test_no_tty_and_no_option_names_both(home: Path, jupyter_prefix: Path) -> None:
    result = invoke("init", "--prefix", str(jupyter_prefix), "--no-service")
    assert result.exit_code == 2
    assert "--password-stdin" in result.stderr and "--password-hash" in result.stderr
    assert snapshot(home) == {}


def test_stdin_too_short_is_refused(home: Path, jupyter_prefix: Path) -> None:
    result = init_files_only(jupyter_prefix, password="abc")
    assert result.exit_code == 2 and "at least 8" in result.stderr
    assert snapshot(home) == {}


def test_given_hash_is_stored(home: Path, jupyter_prefix: Path) -> None:
    hashed = jupyter_hash.hash_password("made-elsewhere")
    result = invoke(
        "init", "--prefix", str(jupyter_prefix), "--no-service", "--password-hash", hashed
    )
    assert result.exit_code == 0, result.output
    assert saved_hash(home) == hashed
    assert repr(hashed) in (home / ".jupyter" / "jupyter_server_config.py").read_text()


def test_a_hand_made_sha1_hash_is_kept_and_reported_weak(home: Path, jupyter_prefix: Path) -> None:
    from jupyter_server.auth.security import passwd

    legacy: str = passwd("old-password", algorithm="sha1")  # type: ignore[no-untyped-call]
    notebook_config = home / ".jupyter" / "jupyter_notebook_config.py"
    notebook_config.parent.mkdir()
    notebook_config.write_text(f"c = get_config()\nc.NotebookApp.password = u'{legacy}'\n")
    result = invoke("init", "--prefix", str(jupyter_prefix), "--no-service")
    assert result.exit_code == 0, result.output
    assert "kept the password already in the Jupyter config" in " ".join(result.output.split())
    assert saved_hash(home) == legacy
    status = invoke("status")
    assert status.exit_code == 0
    assert "weak" in status.stderr and "--reset-password" in " ".join(status.stderr.split())

    reset = invoke("init", "--reset-password", "--password-stdin", input="a-new-password\n")
    assert reset.exit_code == 0, reset.output
    assert jupyter_hash.kind(saved_hash(home)) is HashKind.ARGON2
    assert invoke("init").exit_code == 0  # and a plain re-run does not ask again


def test_password_command_changes_the_hash(home: Path, jupyter_prefix: Path) -> None:
    assert invoke("password", "--password-stdin", input="whatever1\n").exit_code == 2
    assert init_files_only(jupyter_prefix, password="first-password").exit_code == 0
    result = invoke("password", "--password-stdin", input="second-password\n")
    assert result.exit_code == 0, result.output
    assert jupyter_hash.verify(saved_hash(home), "second-password")
    config = (home / ".jupyter" / "jupyter_server_config.py").read_text()
    assert repr(saved_hash(home)) in config


def error_lines(stderr: str) -> str:
    """The error and its hint, flattened, without the log path (it holds the test's name)."""
    return flat(stderr.split("  log: ")[0])


def test_password_with_drift_elsewhere_changes_nothing_and_downloads_nothing(
    site: InstallerSite, home: Path
) -> None:
    """Another step drifted (conda is broken): `password` is no repair run. It refuses before
    it changes anything, and never starts the installer download a repair would need."""
    site.publish_default("miniforge")
    prefix = site.prefix("miniforge3")
    first = init_no_service("--distribution", "miniforge", "--prefix", str(prefix))
    assert first.exit_code == 0, first.output
    (prefix / "bin" / "conda").unlink()
    assert invoke("status").exit_code == 3
    settings = home / ".config" / "jupyter-bootstrap" / "settings.json"
    config = home / ".jupyter" / "jupyter_server_config.py"
    before = (settings.read_bytes(), config.read_bytes())
    asked = len(site.server.requests())

    result = invoke("password", "--password-stdin", input="a-new-password\n")
    assert result.exit_code == 2, result.output
    assert "conda" in error_lines(result.stderr), result.stderr
    assert "jupyter-bootstrap init" in error_lines(result.stderr), result.stderr
    assert (settings.read_bytes(), config.read_bytes()) == before
    assert len(site.server.requests()) == asked  # not even the hash was looked up
    assert site.runs() == [f"-b -p {prefix}"]


def test_password_with_a_deleted_key_makes_no_new_certificate(
    home: Path, jupyter_prefix: Path
) -> None:
    assert init_files_only(jupyter_prefix).exit_code == 0
    certfile = home / "certs" / "mycert.pem"
    settings = home / ".config" / "jupyter-bootstrap" / "settings.json"
    config = home / ".jupyter" / "jupyter_server_config.py"
    pem = certfile.read_bytes()
    certfile.write_bytes(pem[pem.index(b"-----BEGIN CERTIFICATE-----") :])  # the key is lost
    before = (certfile.read_bytes(), settings.read_bytes(), config.read_bytes())

    result = invoke("password", "--password-stdin", input="a-new-password\n")
    assert result.exit_code == 2, result.output
    assert "jupyter-bootstrap init" in error_lines(result.stderr), result.stderr
    assert (certfile.read_bytes(), settings.read_bytes(), config.read_bytes()) == before


# -- a hand-made setup's hash, and what the user gives ------------------------------------

OLD_PASSWORD = "old-tutorial-password"


def hand_made_setup(home: Path) -> str:
    """The old tutorial's classic Notebook config with its sha1 hash; returns the hash."""
    from jupyter_server.auth.security import passwd

    legacy: str = passwd(OLD_PASSWORD, algorithm="sha1")  # type: ignore[no-untyped-call]
    notebook_config = home / ".jupyter" / "jupyter_notebook_config.py"
    notebook_config.parent.mkdir(exist_ok=True)
    notebook_config.write_text(f"c = get_config()\nc.NotebookApp.password = u'{legacy}'\n")
    return legacy


def test_password_stdin_wins_over_a_found_sha1_hash(home: Path, jupyter_prefix: Path) -> None:
    hand_made_setup(home)
    result = init_files_only(jupyter_prefix, password="the-new-password")
    assert result.exit_code == 0, result.output
    assert jupyter_hash.verify(saved_hash(home), "the-new-password")
    assert jupyter_hash.kind(saved_hash(home)) is HashKind.ARGON2
    assert "weak" not in result.stderr
    config = (home / ".jupyter" / "jupyter_server_config.py").read_text()
    assert repr(saved_hash(home)) in config


def test_what_was_made_by_hand_is_said_before_anything_changes(
    home: Path, jupyter_prefix: Path
) -> None:
    hand_made_setup(home)
    output = init_files_only(jupyter_prefix, password="the-new-password").output
    found = output.index("Found a setup made by hand")
    assert found < output.index("  host ")  # before the first step line
    listed = output[found : output.index("  host ")]
    assert "a Jupyter password set by hand: replaced by the one you give" in listed
    assert "jupyter_notebook_config.py sets NotebookApp" in " ".join(listed.split())


def test_password_hash_wins_over_a_found_sha1_hash(home: Path, jupyter_prefix: Path) -> None:
    hand_made_setup(home)
    hashed = jupyter_hash.hash_password("made-elsewhere")
    result = invoke(
        "init", "--prefix", str(jupyter_prefix), "--no-service", "--password-hash", hashed
    )
    assert result.exit_code == 0, result.output
    assert saved_hash(home) == hashed


def test_a_found_sha1_hash_on_a_terminal_asks_for_a_new_password(
    home: Path, jupyter_prefix: Path, tty: None
) -> None:
    hand_made_setup(home)
    answers = "the-new-password\nthe-new-password\n"
    result = invoke("init", "--prefix", str(jupyter_prefix), "--no-service", input=answers)
    assert result.exit_code == 0, result.output
    assert "weak hash" in flat(result.output)  # why it asks although a password was set
    assert jupyter_hash.verify(saved_hash(home), "the-new-password")
    assert jupyter_hash.kind(saved_hash(home)) is HashKind.ARGON2


def test_a_found_sha1_hash_without_a_terminal_is_kept_with_a_warning_every_run(
    home: Path, jupyter_prefix: Path
) -> None:
    legacy = hand_made_setup(home)
    result = invoke("init", "--prefix", str(jupyter_prefix), "--no-service")
    assert result.exit_code == 0, result.output
    assert saved_hash(home) == legacy
    assert "`jupyter-bootstrap password`" in flat(result.stderr)
    for again in (invoke("status"), invoke("init")):
        assert again.exit_code == 0, again.output
        assert "weak" in again.stderr and "`jupyter-bootstrap password`" in flat(again.stderr)


def test_a_found_argon2_hash_is_adopted_without_asking(
    home: Path, jupyter_prefix: Path, tty: None
) -> None:
    """`jupyter server password` writes an argon2 hash into the JSON config: strong, so it is
    taken over as it is (no prompt: the empty input would abort one)."""
    found = jupyter_hash.hash_password("set-with-jupyter")
    json_config = home / ".jupyter" / "jupyter_server_config.json"
    json_config.parent.mkdir()
    json_config.write_text(json.dumps({"IdentityProvider": {"hashed_password": found}}))
    result = invoke("init", "--prefix", str(jupyter_prefix), "--no-service", input="")
    assert result.exit_code == 0, result.output
    assert saved_hash(home) == found
    assert "weak" not in result.stderr


def test_the_password_command_says_when_nothing_changed(home: Path, jupyter_prefix: Path) -> None:
    assert init_files_only(jupyter_prefix).exit_code == 0
    same = invoke("password", "--password-stdin", input=PASSWORD + "\n")
    assert same.exit_code == 0, same.output
    assert "nothing changed" in same.output and "Password changed" not in same.output
    new = invoke("password", "--password-stdin", input="a different password\n")
    assert new.exit_code == 0, new.output
    assert "Password changed" in new.output


def test_password_stdin_again_with_the_same_password_changes_nothing(
    home: Path, jupyter_prefix: Path
) -> None:
    assert init_files_only(jupyter_prefix).exit_code == 0
    settings = home / ".config" / "jupyter-bootstrap" / "settings.json"
    config = home / ".jupyter" / "jupyter_server_config.py"
    before = (settings.read_bytes(), config.read_bytes())
    again = init_files_only(jupyter_prefix)
    assert again.exit_code == 0, again.output
    assert "changed" not in again.output
    assert (settings.read_bytes(), config.read_bytes()) == before

    other = init_files_only(jupyter_prefix, password="another-password")
    assert other.exit_code == 0, other.output
    assert jupyter_hash.verify(saved_hash(home), "another-password")


# -- passwords the login page would change ------------------------------------------------


@pytest.mark.parametrize("given", [" leading-space", "trailing-space ", "\ttabbed-password"])
def test_stdin_password_with_surrounding_whitespace_is_refused(
    home: Path, jupyter_prefix: Path, given: str
) -> None:
    result = init_files_only(jupyter_prefix, password=given)
    assert result.exit_code == 2, result.output
    assert "starts or ends with a space" in flat(result.stderr)
    assert "the password on standard input is refused" in flat(result.stderr)
    assert "login page strips" in flat(result.stderr)
    # Refused before anything is written: no settings, config or certificate.
    assert not any((home / name).exists() for name in (".config", ".jupyter", "certs"))


def test_prompt_reasks_on_surrounding_whitespace(
    home: Path, jupyter_prefix: Path, tty: None
) -> None:
    answers = "spaced-password \nspaced-password\nspaced-password\n"
    result = invoke("init", "--prefix", str(jupyter_prefix), "--no-service", input=answers)
    assert result.exit_code == 0, result.output
    assert "starts or ends with a space" in flat(result.stderr)
    assert jupyter_hash.verify(saved_hash(home), "spaced-password")


def test_stdin_keeps_inner_spaces(home: Path, jupyter_prefix: Path) -> None:
    result = init_files_only(jupyter_prefix, password="inner spaces are fine")
    assert result.exit_code == 0, result.output
    assert jupyter_hash.verify(saved_hash(home), "inner spaces are fine")


def test_a_converged_check_judges_the_saved_hash_once(
    home: Path, jupyter_prefix: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each judgment of an argon2 hash reads argon2-cffi's files to key its verdict: the
    # step's check judges the saved hash once and reasons from that one verdict.
    assert init_files_only(jupyter_prefix).exit_code == 0
    judged: list[str] = []
    real_kind = jupyter_hash.kind

    def counting(hashed: str, keep: bool = False) -> HashKind:
        judged.append(hashed)
        return real_kind(hashed, keep)

    monkeypatch.setattr(jupyter_hash, "kind", counting)
    result = invoke("status", "--skip", "service", "--skip", "health")
    assert "password set (argon2)" in result.output, result.output
    assert judged == [saved_hash(home)]
