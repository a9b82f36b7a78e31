"""The audit log on SQLite and PostgreSQL: append, filter, page, transactional writes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from gongkai.audit import AuditLog
from gongkai.database import create_database_engine
from gongkai.settings import Settings


@pytest.fixture
def engine(db_settings: Settings) -> Iterator[Engine]:
    engine = create_database_engine(db_settings)
    yield engine
    engine.dispose()  # before the test database is dropped


def test_entries_keep_who_what_when_and_before_after(engine: Engine) -> None:
    log = AuditLog(engine)
    start = datetime.now(UTC)
    entry_id = log.record(
        "alice",
        "compilation.update",
        "compilation:7",
        {"title": "低保政策", "documents": ["a", "b"]},
        {"title": "最低生活保障政策汇编", "documents": ["a", "b", "c"]},
    )
    [entry] = log.entries()
    assert entry.id == entry_id
    assert (entry.actor, entry.action, entry.target) == (
        "alice",
        "compilation.update",
        "compilation:7",
    )
    assert entry.before == {"title": "低保政策", "documents": ["a", "b"]}
    assert entry.after == {"title": "最低生活保障政策汇编", "documents": ["a", "b", "c"]}
    assert entry.at.tzinfo is not None
    assert entry.at >= start - timedelta(seconds=1)


def test_filters_families_and_paging_newest_first(engine: Engine) -> None:
    log = AuditLog(engine)
    for i in range(5):
        log.record("bob" if i % 2 else "carol", f"key.{'issue' if i < 3 else 'revoke'}", f"key:{i}")
    log.record("carol", "keyboard.press", "x")  # 'key.' must not match 'keyboard.'
    log.record("carol", "user.create", "user:dan", None, {"role": "librarian"})

    assert [e.target for e in log.entries(actor="bob")] == ["key:3", "key:1"]
    assert [e.target for e in log.entries(action="key.revoke")] == ["key:4", "key:3"]
    assert len(log.entries(action="key.")) == 5
    assert [e.action for e in log.entries(target="user:dan")] == ["user.create"]

    first = log.entries(limit=3)
    second = log.entries(limit=3, before_id=first[-1].id)
    ids = [e.id for e in first + second]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 6
    assert log.entries(since=datetime.now(UTC) + timedelta(days=1)) == []


def test_record_inside_a_transaction_rolls_back_with_it(engine: Engine) -> None:
    log = AuditLog(engine)

    def failing_change() -> None:
        with engine.begin() as conn:
            log.record("alice", "user.create", "user:ghost", conn=conn)
            raise RuntimeError("the change itself failed")

    with pytest.raises(RuntimeError):
        failing_change()
    assert log.entries() == []
    with engine.begin() as conn:
        log.record("alice", "user.create", "user:real", conn=conn)
    assert [e.target for e in log.entries()] == ["user:real"]


def test_overlong_fields_are_cut_not_refused(engine: Engine) -> None:
    log = AuditLog(engine)
    log.record("a" * 1000, "act", "t" * 5000)
    [entry] = log.entries()
    assert len(entry.actor) == 200 and len(entry.target) == 500


def test_a_second_log_on_the_same_database_sees_the_same_rows(engine: Engine) -> None:
    AuditLog(engine).record("alice", "login", "user:alice")
    assert [e.action for e in AuditLog(engine).entries()] == ["login"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == 1
