"""Durable ingest: the outbox table on SQLite and PostgreSQL, and the pipeline around a real
engine outage (the embedded engine's writer lock held by another process)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from analysis.analyzer import DocumentAnalyzer
from analysis.tokenizer import GovTokenizer
from engines.tantivy_backend import TantivyBackend
from gongkai.database import create_database_engine
from gongkai.document import Document
from gongkai.outbox import Backoff, Outbox, OutboxDrainer
from gongkai.pipeline import IngestPipeline
from gongkai.settings import Settings
from tests.support.cli import run_gongkai
from tests.support.writer_lock import WriterLock, writer_locked

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples" / "sample_docs.jsonl"

# No waiting in tests that want the backlog left behind.
NO_RETRY = Backoff(initial_s=0.01, max_s=0.01, window_s=0.0)


def docs(n: int, prefix: str = "d") -> list[Document]:
    return [
        Document(id=f"{prefix}{i}", title=f"就业补贴第{i}号通知", body=f"关于就业补贴的第{i}件")
        for i in range(n)
    ]


@pytest.fixture
def outbox(db_settings: Settings) -> Iterator[Outbox]:
    engine = create_database_engine(db_settings)
    yield Outbox(engine)
    engine.dispose()  # before the test database is dropped


def test_outbox_keeps_order_records_failures_and_forgets_confirmed(outbox: Outbox) -> None:
    first = outbox.add(docs(3))
    later = outbox.add([Document(id="d1", title="新版本", body="x")])
    assert first == sorted(first) and later[0] > first[-1]
    assert outbox.status().pending == 4
    assert outbox.status().last_error is None

    waiting = outbox.pending(limit=10)
    assert [p.document.id for p in waiting] == ["d0", "d1", "d2", "d1"]
    assert waiting[-1].document.title == "新版本"
    assert [p.seq for p in outbox.pending(limit=2, after_seq=first[0])] == first[1:]

    outbox.record_failure(first[:2], "engine at http://127.0.0.1:1 is not available")
    status = outbox.status()
    assert status.last_error == "engine at http://127.0.0.1:1 is not available"
    assert status.oldest_age_s is not None and status.oldest_age_s >= 0
    assert json.dumps(status.as_dict())  # printable by `gongkai index status --json`

    outbox.confirm(first)
    assert [p.document.id for p in outbox.pending(limit=10)] == ["d1"]
    outbox.confirm(later)
    assert outbox.status().pending == 0 and outbox.status().oldest_accepted_at is None


def test_drainer_delivers_in_batches_latest_version_wins(
    outbox: Outbox, tmp_path: Path, tokenizer: GovTokenizer
) -> None:
    backend = TantivyBackend(tmp_path / "index")
    outbox.add(docs(7))
    outbox.add([Document(id="d3", title="第三号已修订", body="修订")])
    report = OutboxDrainer(outbox, backend, DocumentAnalyzer(tokenizer), batch_size=3).drain()
    assert report.complete and report.last_error is None
    assert backend.count() == 7
    assert outbox.count() == 0
    found = backend.get("d3")
    assert found is not None and found.title == "第三号已修订"


def test_ingest_keeps_accepting_while_engine_is_locked_then_drain_delivers(
    outbox: Outbox, tmp_path: Path, tokenizer: GovTokenizer
) -> None:
    backend = TantivyBackend(tmp_path / "index")
    backend.ensure_index()
    accepted = docs(12)
    with writer_locked(backend.index_dir):
        pipeline = IngestPipeline(
            DocumentAnalyzer(tokenizer), backend, batch_size=5, outbox=outbox, backoff=NO_RETRY
        )
        report = pipeline.run(accepted)
        assert report.documents == 12
        assert report.pending == 12  # all accepted, all safe in the outbox
        assert report.engine_error and "another process is writing" in report.engine_error
        assert backend.count() == 0
        status = outbox.status()
        assert status.pending == 12 and status.last_error == report.engine_error
    drained = OutboxDrainer(outbox, backend, DocumentAnalyzer(tokenizer), batch_size=5).drain()
    assert drained.indexed == 12 and drained.pending == 0
    assert backend.count() == 12
    assert all(backend.get(d.id) == d for d in accepted)


def test_ingest_catches_up_by_itself_when_the_engine_returns_mid_run(
    outbox: Outbox, tmp_path: Path, tokenizer: GovTokenizer
) -> None:
    backend = TantivyBackend(tmp_path / "index")
    backend.ensure_index()
    lock = WriterLock(backend.index_dir)
    lock.acquire()
    accepted = docs(23)

    def source() -> Iterator[Document]:
        for i, doc in enumerate(accepted):
            if i == 11:
                lock.release()  # the other writer finishes while we are still reading
            yield doc

    try:
        pipeline = IngestPipeline(
            DocumentAnalyzer(tokenizer),
            backend,
            batch_size=5,
            outbox=outbox,
            backoff=Backoff(initial_s=0.05, max_s=0.5, window_s=30.0),
        )
        report = pipeline.run(source())
    finally:
        lock.release()
    assert report.documents == 23
    assert report.pending == 0 and outbox.count() == 0
    assert backend.count() == 23
    assert all(backend.get(d.id) == d for d in accepted)


def test_rows_are_confirmed_only_after_the_engine_commits_them(
    outbox: Outbox, tmp_path: Path, tokenizer: GovTokenizer
) -> None:
    backend = TantivyBackend(tmp_path / "index")
    seen: dict[int, tuple[int, int]] = {}  # position -> (outbox rows, committed documents)

    def source() -> Iterator[Document]:
        for i, doc in enumerate(docs(23)):
            if i in (7, 12, 17, 22):
                seen[i] = (outbox.count(), backend.count())
            yield doc

    pipeline = IngestPipeline(
        DocumentAnalyzer(tokenizer), backend, batch_size=5, outbox=outbox, confirm_every=10
    )
    report = pipeline.run(source())
    # A batch goes to the engine (on the sending thread) once it is analysed; its outcome is
    # read when the next batch goes. Rows stay in the outbox until the engine has committed
    # them.
    assert seen[7] == (5, 0)  # batch 1 sent
    assert seen[12] == (10, 0)  # batch 1 indexed, not committed; batch 2 sent
    assert seen[17] == (5, 10)  # batches 1-2 committed (10 >= confirm_every) and confirmed
    assert seen[22] == (10, 10)  # batch 3 indexed, not committed; batch 4 sent
    assert report.pending == 0 and outbox.count() == 0 and backend.count() == 23


def test_a_later_ingest_flushes_the_backlog_first(
    outbox: Outbox, tmp_path: Path, tokenizer: GovTokenizer
) -> None:
    backend = TantivyBackend(tmp_path / "index")
    backend.ensure_index()
    analyzer = DocumentAnalyzer(tokenizer)
    with writer_locked(backend.index_dir):
        IngestPipeline(analyzer, backend, 4, outbox=outbox, backoff=NO_RETRY).run(docs(9))
    assert outbox.count() == 9 and backend.count() == 0
    report = IngestPipeline(analyzer, backend, 4, outbox=outbox, backoff=NO_RETRY).run(
        docs(2, prefix="new")
    )
    assert report.pending == 0
    assert backend.count() == 11


def test_cli_ingest_during_outage_then_status_and_drain(tmp_path: Path) -> None:
    assert run_gongkai("ingest", str(SAMPLES), data_dir=tmp_path).returncode == 0
    with writer_locked(tmp_path / "index"):
        done = run_gongkai(
            "ingest", str(SAMPLES), data_dir=tmp_path, GONGKAI_INDEX_RETRY_WINDOW_S="0"
        )
        assert done.returncode == 0, done.stderr
        assert "40 documents wait in the outbox" in done.stderr
        status = run_gongkai("index", "status", "--json", data_dir=tmp_path)
        assert status.returncode == 0, status.stderr
        backlog = json.loads(status.stdout)
        assert backlog["outbox_pending"] == 40
        assert "another process is writing" in backlog["outbox_last_error"]
        blocked = run_gongkai("index", "drain", "--wait", "0", data_dir=tmp_path)
        assert blocked.returncode == 1 and "40 still wait" in blocked.stderr
    drained = run_gongkai("index", "drain", "--json", data_dir=tmp_path)
    assert drained.returncode == 0, drained.stderr
    assert json.loads(drained.stdout) == {"indexed": 40, "pending": 0, "rejected": 0, "error": None}
    status = run_gongkai("index", "status", "--json", data_dir=tmp_path)
    after = json.loads(status.stdout)
    assert after["outbox_pending"] == 0 and after["documents"] == 40


def test_cli_status_reports_the_backlog_when_the_cluster_is_unreachable(tmp_path: Path) -> None:
    engine = create_database_engine(Settings(data_dir=tmp_path))
    Outbox(engine).add(docs(3))
    engine.dispose()
    done = run_gongkai(
        "index",
        "status",
        "--json",
        data_dir=tmp_path,
        GONGKAI_ENGINE="opensearch",
        GONGKAI_ENGINE_URL="http://127.0.0.1:9",  # discard port: nothing listens
        GONGKAI_ENGINE_TIMEOUT_S="2",
    )
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert "not available" in status["error"]
    assert status["outbox_pending"] == 3
