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


class _CountingAnalyzer(DocumentAnalyzer):
    """The real analyser, telling when it has analysed ``batches`` batches."""

    def __init__(self, tokenizer: GovTokenizer, batches: int) -> None:
        super().__init__(tokenizer)
        self.calls = 0
        self.reached = threading.Event()
        self._batches = batches

    def analyze_many(self, docs: Sequence[Document]) -> list[AnalyzedDocument]:
        analysed = super().analyze_many(docs)
        self.calls += 1
        if self.calls >= self._batches:
            self.reached.set()
        return analysed


class _WaitingBackend(TantivyBackend):
    """The real embedded engine; its first `index` call waits (bounded) for ``event``."""

    def __init__(self, path: Path, event: threading.Event) -> None:
        super().__init__(path)
        self.event = event
        self.seen_while_indexing: list[bool] = []
        self.threads: set[str] = set()

    def index(self, docs: Sequence[AnalyzedDocument]) -> int:
        self.threads.add(threading.current_thread().name)
        if not self.seen_while_indexing:
            self.seen_while_indexing.append(self.event.wait(timeout=20))
        return super().index(docs)


def test_the_engine_indexes_a_batch_while_the_next_ones_are_analysed(
    tmp_path: Path, tokenizer: GovTokenizer
) -> None:
    # Batch 1 goes to the engine once batch 2 is analysed; batch 3 can only be analysed
    # during batch 1's indexing if the two run on different threads.
    analyzer = _CountingAnalyzer(tokenizer, batches=3)
    backend = _WaitingBackend(tmp_path, analyzer.reached)
    items = [Document(id=f"d{i}", title="就业补贴", body=f"第{i}件") for i in range(10)]
    report = IngestPipeline(analyzer, backend, batch_size=3).run(items)
    assert backend.seen_while_indexing == [True]
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
