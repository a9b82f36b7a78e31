"""Fault injection around durable ingest, with real parts only: an OpenSearch JVM killed with
SIGKILL in the middle of an ingest, and a SQLite database held under an exclusive lock.

(The crawler's target timing out is covered where the crawler is: the mock site's page 1015
hangs past the read timeout, see tests/ingest/crawl/test_crawl.py.)
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from analysis.analyzer import DocumentAnalyzer
from analysis.tokenizer import GovTokenizer
from engines.opensearch_backend import ClusterBackend
from gongkai.database import create_database_engine, database_url
from gongkai.document import Document
from gongkai.outbox import Backoff, Outbox, OutboxDrainer, OutboxUnavailable
from gongkai.pipeline import IngestPipeline
from gongkai.settings import Settings
from tests.engine.node import OpenSearchCluster


def docs(n: int, prefix: str = "f") -> list[Document]:
    return [
        Document(id=f"{prefix}{i:05d}", title=f"关于养老保险的通知{i}", body=f"第{i}件养老保险")
        for i in range(n)
    ]


class ExclusiveLock:
    """Another connection holding SQLite's exclusive lock (``BEGIN EXCLUSIVE``): nobody else
    can write (or, outside WAL readers, read) until it commits."""

    def __init__(self, path: Path) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.connection.execute("BEGIN EXCLUSIVE")
        self.released = threading.Event()

    def release(self) -> None:
        self.released.set()
        self.connection.execute("COMMIT")
        self.connection.close()


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path)


def sqlite_file(settings: Settings) -> Path:
    return Path(database_url(settings).removeprefix("sqlite:///"))


def test_locked_database_waits_then_accepts_everything(sqlite_settings: Settings) -> None:
    engine = create_database_engine(sqlite_settings)  # busy timeout: waits up to 30 s
    outbox = Outbox(engine)
    outbox.add(docs(3, "before"))
    lock = ExclusiveLock(sqlite_file(sqlite_settings))
    releaser = threading.Timer(0.5, lock.release)
    releaser.start()
    try:
        seqs = outbox.add(docs(50))
    finally:
        releaser.join()
    # The write waited for the lock (it cannot have finished before the release).
    assert lock.released.is_set()
    assert len(seqs) == 50
    assert outbox.count() == 53
    engine.dispose()


def test_locked_database_past_its_timeout_is_a_clear_error_and_loses_nothing(
    sqlite_settings: Settings,
) -> None:
    good = create_database_engine(sqlite_settings)
    Outbox(good).add(docs(3, "before"))
    # The same file through a connection that gives up after 0.2 s.
    impatient = create_engine(
        database_url(sqlite_settings), connect_args={"timeout": 0.2, "check_same_thread": False}
    )
    lock = ExclusiveLock(sqlite_file(sqlite_settings))
    try:
        with pytest.raises(OutboxUnavailable, match="database is locked") as refused:
            Outbox(impatient).add(docs(50))
        assert "cannot be used" in str(refused.value)
    finally:
        lock.release()
    # Nothing half-written: the refused batch is absent, the earlier rows are intact.
    assert Outbox(good).count() == 3
    assert Outbox(impatient).add(docs(50)) and Outbox(good).count() == 53
    impatient.dispose()
    good.dispose()


def test_ingest_into_a_locked_database_fails_clearly_not_silently(
    sqlite_settings: Settings, tmp_path: Path, tokenizer: GovTokenizer
) -> None:
    from engines.tantivy_backend import TantivyBackend

    impatient = create_engine(
        database_url(sqlite_settings), connect_args={"timeout": 0.2, "check_same_thread": False}
    )
    outbox = Outbox(impatient)
    backend = TantivyBackend(tmp_path / "index")
    lock = ExclusiveLock(sqlite_file(sqlite_settings))
    try:
        pipeline = IngestPipeline(DocumentAnalyzer(tokenizer), backend, 10, outbox=outbox)
        with pytest.raises(OutboxUnavailable):
            pipeline.run(docs(25))
    finally:
        lock.release()
    # Not accepted means not indexed either: the engine saw nothing the outbox did not hold.
    assert backend.count() == outbox.count() == 0
    report = IngestPipeline(DocumentAnalyzer(tokenizer), backend, 10, outbox=outbox).run(docs(25))
    assert report.pending == 0 and backend.count() == 25
    impatient.dispose()


def bulk_running(url: str) -> bool:
    """Whether the node is executing a bulk request right now (its task list)."""
    with urllib.request.urlopen(f"{url}/_tasks?actions=*bulk*", timeout=10) as response:
        nodes = json.load(response).get("nodes", {})
    running = any(node.get("tasks") for node in nodes.values())
    if not running:
        time.sleep(0.005)
    return running


@pytest.fixture
def lone_node() -> Iterator[OpenSearchCluster]:
    # A one-member "cluster": a single node on fixed ports, so it can be killed and brought
    # back on the same address and data directory.
    with OpenSearchCluster(1) as running:
        yield running


@pytest.mark.engine
def test_engine_killed_mid_ingest_loses_nothing_acknowledged_or_accepted(
    lone_node: OpenSearchCluster, tmp_path: Path, tokenizer: GovTokenizer
) -> None:
    node = lone_node.nodes[0]
    url = lone_node.urls[0]
    backend = ClusterBackend(url, alias=f"gongkai-fault-{uuid.uuid4().hex[:8]}", timeout_s=10)
    database = create_database_engine(Settings(data_dir=tmp_path))
    outbox = Outbox(database)
    total = 3000
    accepted = [0]
    acknowledged_at_kill: list[int] = []
    read_at_kill: list[int] = []
    stop = threading.Event()

    in_flight: list[bool] = []

    def kill_then_restart() -> None:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and not stop.is_set():
            acknowledged = accepted[0] - outbox.count()
            if acknowledged >= 500:
                # Aim the kill at a bulk request the node is working on (its task list says
                # so); give up aiming after a bounded number of looks.
                in_flight.append(any(bulk_running(url) for _ in range(500)))
                acknowledged_at_kill.append(accepted[0] - outbox.count())
                read_at_kill.append(accepted[0])
                node.kill()  # SIGKILL: no flush, no goodbye
                node.start()  # same data directory and ports; returns once it is up
                return
            time.sleep(0.02)

    def count() -> None:
        accepted[0] += 1

    chaos = threading.Thread(target=kill_then_restart)
    chaos.start()
    try:
        pipeline = IngestPipeline(
            DocumentAnalyzer(tokenizer),
            backend,
            batch_size=200,
            outbox=outbox,
            backoff=Backoff(initial_s=0.5, max_s=5.0, window_s=300.0),
            # Acknowledge as the ingest goes: with the default (a commit per 5,000
            # documents) nothing was acknowledged before the end, and the kill came after it.
            confirm_every=200,
        )
        report = pipeline.run(docs(total), on_document=count)
    finally:
        stop.set()
        chaos.join(timeout=620)
    try:
        assert acknowledged_at_kill, "the node was never killed: the test proved nothing"
        # Killed while documents were still being read, not during the final confirmation.
        assert read_at_kill[0] < total, "killed after the ingest: it proved nothing"
        assert report.engine_error is None or "not available" in report.engine_error
        assert report.documents == total and report.pending == 0
        backend.refresh()
        assert backend.count() == total
        assert {d.id for d in backend.iter_documents(1000)} == {d.id for d in docs(total)}
        print(
            f"\nkilled after {acknowledged_at_kill[0]} acknowledged of {total} "
            f"(a bulk request in flight: {in_flight[0]}); node back in "
            f"{node.startup_seconds:.0f} s; ingest saw: {report.engine_error}"
        )
    finally:
        backend.drop()
        backend.close()
        database.dispose()


@pytest.mark.engine
def test_a_document_the_engine_refuses_is_set_aside_the_rest_arrives(
    opensearch_url: str, tmp_path: Path, tokenizer: GovTokenizer
) -> None:
    backend = ClusterBackend(opensearch_url, alias=f"gongkai-refuse-{uuid.uuid4().hex[:8]}")
    database = create_database_engine(Settings(data_dir=tmp_path))
    outbox = Outbox(database)
    # `agency` is a keyword field: Lucene refuses a single term over 32,766 bytes. (The
    # title keyword skips such values: ignore_above, mapping v4.)
    immense = Document(id="immense", title="通知", body="机构名过长", agency=["机构" * 6000])
    batch = [*docs(4), immense, *docs(3, "g")]
    try:
        report = IngestPipeline(DocumentAnalyzer(tokenizer), backend, 50, outbox=outbox).run(batch)
        assert report.documents == 8 and report.pending == 0
        assert len(report.problems) == 1 and "immense" in report.problems[0]
        backend.refresh()
        assert backend.count() == 7 and backend.get("immense") is None
        status = outbox.status()
        assert status.rejected == 1 and status.pending == 0
        assert status.last_error is not None and "immense" in status.last_error
        # Requeued and refused again: still aside, nothing else disturbed.
        assert outbox.requeue_rejected() == 1
        drained = OutboxDrainer(outbox, backend, DocumentAnalyzer(tokenizer)).drain(0)
        assert (drained.indexed, drained.pending, drained.rejected) == (0, 0, 1)
        assert backend.count() == 7
    finally:
        backend.drop()
        backend.close()
        database.dispose()
