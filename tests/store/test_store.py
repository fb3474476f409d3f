"""The SQLite store on a real file: migrations, dedupe by event id, redaction, clear errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.knowledge.redact import redact
from bot.store.db import MIGRATIONS, Store, StoreError


def answer(store: Store, event_id: str = "Ev1") -> int | None:
    return store.record_answer(
        event_id=event_id,
        channel="C1",
        thread_ts="1.1",
        user="U1",
        cluster="prod",
        text="no IPs available in block",
        confident=True,
        runbook="ipam-exhausted",
        score=0.97,
        matches=[{"runbook": "ipam-exhausted", "score": 0.97}],
    )


def test_migrations_apply_once_and_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "cnibot.db"
    store = Store(path)
    assert store.version() == len(MIGRATIONS)
    assert answer(store) is not None
    again = Store(path)  # a restart
    assert again.version() == len(MIGRATIONS)
    assert [r.kind for r in again.audit()] == ["answer"]


def test_the_same_event_is_recorded_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "cnibot.db")
    assert answer(store, "Ev1") is not None
    assert answer(store, "Ev1") is None  # a retry, or a second replica
    assert answer(store, "Ev2") is not None


def test_a_path_that_is_no_database_file_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()  # a folder where the database should be (root ignores file modes)
    with pytest.raises(StoreError) as caught:
        Store(tmp_path / "taken")
    assert str(caught.value).startswith(f"cannot open the database {tmp_path / 'taken'}")
    assert "CNIBOT_DB" in str(caught.value) and "\n" not in str(caught.value)


def test_a_locked_database_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.store.db as db

    monkeypatch.setattr(db, "BUSY_TIMEOUT_SECONDS", 0.2)
    path = tmp_path / "cnibot.db"
    store = Store(path)
    holder = sqlite3.connect(path)
    holder.execute("begin exclusive")
    try:
        with pytest.raises(StoreError) as caught:
            answer(store)
        assert "locked by another process" in str(caught.value) and "\n" not in str(caught.value)
    finally:
        holder.rollback()
        holder.close()


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("curl -H 'Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.abcdefghijklm.nopqrstuvwxyz12'", "eyJhbGci"),
        ("SLACK_BOT_TOKEN=xoxb-1234567890-abcdefghij", "xoxb-1234567890"),
        ("password: hunter2hunter2", "hunter2"),
        ("client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVkt", "LS0tLS1C"),
    ],
)
def test_secrets_are_redacted(text: str, secret: str) -> None:
    cleaned = redact(text)
    assert secret not in cleaned and "[REDACTED]" in cleaned
