from __future__ import annotations

from pathlib import Path

from analysis.analyzer import DocumentAnalyzer
from analysis.tokenizer import GovTokenizer
from engines.base import SearchQuery
from engines.tantivy_backend import TantivyBackend
from gongkai.document import Document
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
