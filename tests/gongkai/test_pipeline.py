from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from analysis.analyzer import DocumentAnalyzer
from analysis.tokenizer import GovTokenizer
from engines.base import EngineError, SearchQuery
from engines.tantivy_backend import TantivyBackend
from gongkai.document import AnalyzedDocument, Document
from gongkai.pipeline import IngestPipeline


def test_batches_are_flushed_and_problems_reported(tmp_path: Path, tokenizer: GovTokenizer) -> None:
    backend = TantivyBackend(tmp_path)
    pipeline = IngestPipeline(DocumentAnalyzer(tokenizer), backend, batch_size=3)
    problems: list[object] = []
    items: list[object] = [
        Document(id=f"d{i}", title="就业补贴", body=f"第{i}件") for i in range(7)
    ]
    items.insert(2, "bad.jsonl:3: not JSON")
    report = pipeline.run(items, on_problem=problems.append)
    assert report.documents == 7
    assert report.problems == ["bad.jsonl:3: not JSON"] and problems == [items[2]]
    assert backend.count() == 7


def test_same_id_in_one_batch_is_indexed_once(tmp_path: Path, tokenizer: GovTokenizer) -> None:
    backend = TantivyBackend(tmp_path)
    pipeline = IngestPipeline(DocumentAnalyzer(tokenizer), backend)
    pipeline.run([Document(id="a", title="旧", body="x"), Document(id="a", title="新", body="x")])
    assert backend.count() == 1
    hit = backend.search(SearchQuery(terms=["x"])).hits[0]
    assert hit.document.title == "新"


def test_attachment_text_is_searchable(tmp_path: Path, tokenizer: GovTokenizer) -> None:
    backend = TantivyBackend(tmp_path)
    doc = Document(
        id="a",
        title="通知",
        body="见附件",
        attachments=[{"name": "附件1.pdf", "text": "补贴标准一览表"}],
    )  # type: ignore[list-item]
    IngestPipeline(DocumentAnalyzer(tokenizer), backend).run([doc])
    assert backend.search(SearchQuery(terms=["一览表"])).total == 1


class _Handshake:
    """Two events between the analyser and the engine, each waited for with a bound."""

    def __init__(self) -> None:
        self.indexing_started = threading.Event()  # the engine began indexing batch 1
        self.second_analysed = threading.Event()  # the analyser finished batch 2


class _HandshakeAnalyzer(DocumentAnalyzer):
    """The real analyser; it starts its second batch only once batch 1 is being indexed."""

    def __init__(self, tokenizer: GovTokenizer, handshake: _Handshake) -> None:
        super().__init__(tokenizer)
        self.handshake = handshake
        self.calls = 0
        self.indexing_seen: list[bool] = []

    def analyze_many(self, docs: Sequence[Document]) -> list[AnalyzedDocument]:
        self.calls += 1
        if self.calls == 2:
            self.indexing_seen.append(self.handshake.indexing_started.wait(timeout=20))
        analysed = super().analyze_many(docs)
        if self.calls == 2:
            self.handshake.second_analysed.set()
        return analysed


class _HandshakeBackend(TantivyBackend):
    """The real embedded engine; it finishes indexing batch 1 only once batch 2 is analysed."""

    def __init__(self, path: Path, handshake: _Handshake) -> None:
        super().__init__(path)
        self.handshake = handshake
        self.analysed_seen: list[bool] = []
        self.threads: set[str] = set()

    def index(self, docs: Sequence[AnalyzedDocument]) -> int:
        self.threads.add(threading.current_thread().name)
        if not self.handshake.indexing_started.is_set():
            self.handshake.indexing_started.set()
            self.analysed_seen.append(self.handshake.second_analysed.wait(timeout=20))
        return super().index(docs)


def test_the_engine_indexes_a_batch_while_the_next_one_is_analysed(
    tmp_path: Path, tokenizer: GovTokenizer
) -> None:
    # Both waits succeed only if batch 1's indexing and batch 2's analysis run at once, on
    # different threads; in turn, one of them times out.
    handshake = _Handshake()
    backend = _HandshakeBackend(tmp_path, handshake)
    analyzer = _HandshakeAnalyzer(tokenizer, handshake)
    items = [Document(id=f"d{i}", title="就业补贴", body=f"第{i}件") for i in range(10)]
    report = IngestPipeline(analyzer, backend, batch_size=3).run(items)
    assert analyzer.indexing_seen == [True] and backend.analysed_seen == [True]
    assert threading.current_thread().name not in backend.threads
    assert report.documents == 10 and backend.count() == 10


class _RefusingBackend(TantivyBackend):
    """Fault injection on the real embedded engine: the second batch is refused."""

    calls = 0

    def index(self, docs: Sequence[AnalyzedDocument]) -> int:
        self.calls += 1
        if self.calls == 2:
            raise EngineError("refused for the test")
        return super().index(docs)


def test_without_an_outbox_an_engine_error_still_ends_the_run(
    tmp_path: Path, tokenizer: GovTokenizer
) -> None:
    backend = _RefusingBackend(tmp_path)
    items = [Document(id=f"d{i}", title="通知", body=f"第{i}件") for i in range(12)]
    with pytest.raises(EngineError, match="refused for the test"):
        IngestPipeline(DocumentAnalyzer(tokenizer), backend, batch_size=3).run(items)
    assert backend.calls == 2  # nothing was sent after the refusal
