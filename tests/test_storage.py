"""Storage URLs: validation, redaction, passwords from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuner.session.storage import default_storage_url, make_storage, parse_storage, redact


def test_default_url_is_a_sqlite_file_under_studies() -> None:
    assert default_storage_url("x") == "sqlite:///studies/x.db"


def test_redact_hides_passwords_and_unparseable_text() -> None:
    assert redact("postgresql+psycopg://u:s3cret@h:5432/db") == "postgresql+psycopg://u:***@h:5432/db"
    assert "s3cret" not in redact("postgresql+psycopg://u:s3cret@h/db")
    assert redact("sqlite:///studies/a.db") == "sqlite:///studies/a.db"
    assert "s3cret" not in redact("garbage://u:s3cret@@@")


def test_bare_postgresql_means_psycopg3() -> None:
    assert parse_storage("postgresql://u@h/db").url.drivername == "postgresql+psycopg"


def test_password_comes_from_env_or_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TUNER_DB_PASSWORD", "fromenv")
    spec = parse_storage("postgresql+psycopg://u@h/db")
    assert spec.url.password == "fromenv" and "fromenv" not in spec.redacted
    pw = tmp_path / "pw"
    pw.write_text("fromfile\n")
    monkeypatch.setenv("TUNER_DB_PASSWORD_FILE", str(pw))
    assert parse_storage("postgresql+psycopg://u@h/db").url.password == "fromfile"
    # A password in the URL wins.
    assert parse_storage("postgresql+psycopg://u:inurl@h/db").url.password == "inurl"


@pytest.mark.parametrize(
    "url,fragment",
    [
        ("mysql://u@h/db", "unsupported database"),
        ("sqlite://", "in-memory"),
        ("sqlite:///:memory:", "in-memory"),
        ("postgresql+psycopg:///db", "give a host"),
        ("::::", "not a database URL"),
    ],
)
def test_bad_urls_are_one_line_errors(url: str, fragment: str, input_error) -> None:
    input_error(lambda: parse_storage(url), fragment)


def test_unreachable_server_names_the_url_without_password(input_error) -> None:
    spec = parse_storage("postgresql+psycopg://user:hunter2@127.0.0.1:1/db")
    message = input_error(lambda: make_storage(spec), "cannot open the database")
    assert "hunter2" not in message and "***" in message


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path, input_error) -> None:
    bad = tmp_path / "x.db"
    bad.write_bytes(b"this is not a database" * 100)
    input_error(lambda: make_storage(parse_storage(f"sqlite:///{bad}")), "not a usable SQLite database")
    assert bad.read_bytes() == b"this is not a database" * 100


def test_sqlite_storage_uses_wal(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "w.db"
    make_storage(parse_storage(f"sqlite:///{db}"))
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_ownership_marker_never_holds_the_password(monkeypatch) -> None:
    from tuner.session.ownership import storage_identity

    monkeypatch.setenv("TUNER_DB_PASSWORD", "s3cret-from-env")
    for url in ("postgresql+psycopg://tuner@db/studies", "postgresql+psycopg://tuner:s3cret-in-url@db/studies"):
        ident = storage_identity(parse_storage(url))
        assert "s3cret" not in ident and ident.startswith("postgresql+psycopg://tuner@db"), ident


def check_trial_attrs_batch(urls: dict[str, str]) -> None:
    """write_trial_attrs stores what set_user_attr / set_trial_system_attr store (the rows
    read back equal), in one commit instead of one per key, on the installed Optuna; an
    existing key is replaced; a finished trial is refused as Optuna refuses it."""
    import optuna  # noqa: PLC0415
    import sqlalchemy  # noqa: PLC0415

    from tuner.session.storage import write_trial_attrs  # noqa: PLC0415

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    user = {"a": 1, "b": {"nested": [1.5, "x"]}, "c": None}
    system = {"constraints:k": 2.0, "constraints": [2.0]}
    stored = {}
    for how, url in urls.items():
        storage = make_storage(parse_storage(url))
        study = optuna.create_study(study_name=how, storage=storage)
        trial = study.ask()
        commits: list[int] = []
        sqlalchemy.event.listen(storage.engine, "commit", lambda conn, c=commits: c.append(1))
        if how == "public":
            trial.set_user_attr("a", 0)
            for k, v in user.items():
                trial.set_user_attr(k, v)
            for k, v in system.items():
                storage.set_trial_system_attr(trial._trial_id, k, v)
        else:
            write_trial_attrs(trial, {"a": 0})
            commits.clear()
            write_trial_attrs(trial, user, system)
            assert len(commits) == 1
        assert trial._cached_frozen_trial.user_attrs == user
        study.tell(trial, 1.0)
        if how == "batch":
            with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
                write_trial_attrs(trial, {"late": 1})
        stored[how] = optuna.load_study(study_name=how, storage=url).trials[0]
    assert stored["batch"].user_attrs == stored["public"].user_attrs == user
    assert stored["batch"].system_attrs == stored["public"].system_attrs
    assert {k: stored["batch"].system_attrs[k] for k in system} == system


def test_trial_attributes_are_written_in_one_transaction_as_the_public_calls_write_them(tmp_path: Path) -> None:
    check_trial_attrs_batch({how: f"sqlite:///{tmp_path / how}.db" for how in ("public", "batch")})
