"""The tables and statements: state round trip and the conditional version bump."""

from __future__ import annotations

from datetime import UTC, datetime

from compilations import store
from compilations.store import CompilationState, EntryState
from gongkai.database import create_database_engine
from gongkai.settings import Settings


def _state() -> CompilationState:
    return CompilationState(
        title="低保政策汇编",
        description="最低生活保障",
        query={"q": "低保", "filters": {"validity": ["有效"]}, "year_from": None, "year_to": None},
        status="draft",
        order_rule="manual",
        sections=["标准", "审核"],
        entries=[
            EntryState("b", "审核", "注意", "B", "lib", datetime(2024, 1, 2, tzinfo=UTC)),
            EntryState("a", None, "", "A", "lib", datetime(2024, 1, 1, tzinfo=UTC)),
        ],
        excludes=["z", "y"],
    )


def test_state_written_and_read_back_in_order(db_settings: Settings) -> None:
    engine = create_database_engine(db_settings)
    store.create_tables(engine)
    with engine.begin() as conn:
        cid = store.insert_compilation(conn, _state(), "lib")
        store.write_state(conn, cid, _state())
    with engine.connect() as conn:
        loaded = store.load_state(conn, cid)
    assert loaded is not None
    assert [e.doc_id for e in loaded.entries] == ["b", "a"]
    assert loaded.sections == ["标准", "审核"]
    assert loaded.excludes == ["y", "z"]
    assert loaded.entries[0].note == "注意"
    assert loaded.entries[0].added_at == datetime(2024, 1, 2, tzinfo=UTC)
    assert CompilationState.from_json(loaded.to_json()) == loaded
    engine.dispose()


def test_bump_version_lets_one_of_two_stale_writers_through(db_settings: Settings) -> None:
    engine = create_database_engine(db_settings)
    store.create_tables(engine)
    with engine.begin() as conn:
        cid = store.insert_compilation(conn, _state(), "lib")
    with engine.begin() as conn:
        assert store.bump_version(conn, cid, 1, "first") == 2
    with engine.begin() as conn:
        assert store.bump_version(conn, cid, 1, "second") is None
        assert store.bump_version(conn, cid + 1, None, "nobody") is None
    with engine.connect() as conn:
        assert store.current_version(conn, cid) == 2
        row = store.compilation_row(conn, cid)
    assert row is not None and row["updated_by"] == "first"
    engine.dispose()


def test_known_ids_cover_included_excluded_and_proposed(db_settings: Settings) -> None:
    engine = create_database_engine(db_settings)
    store.create_tables(engine)
    with engine.begin() as conn:
        cid = store.insert_compilation(conn, _state(), "lib")
        store.write_state(conn, cid, _state())
        store.insert_proposals(
            conn, [{"compilation_id": cid, "doc_id": "p", "title": "", "reason": {}}]
        )
        assert store.known_doc_ids(conn, cid) == {"a", "b", "y", "z", "p"}
        assert store.decide_proposal(conn, cid, "p", "rejected", "lib")
        assert not store.decide_proposal(conn, cid, "p", "accepted", "lib")
    engine.dispose()
