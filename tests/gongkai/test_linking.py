"""Enrichment stages and linking, end to end on the embedded engine."""

from __future__ import annotations

from contextlib import closing
from datetime import date
from pathlib import Path

from analysis.analyzer import DocumentAnalyzer
from analysis.dedup import NearDuplicateFinder
from analysis.lineage import LineageGraph
from analysis.references import extract_references
from analysis.tokenizer import GovTokenizer
from engines.tantivy_backend import TantivyBackend
from gongkai.document import Document
from gongkai.enrichment import DuplicateStage, ReferencesStage, TextValidityStage
from gongkai.linking import BATCH, Linker
from gongkai.pipeline import IngestPipeline

BODY = (
    "为规范国有土地上房屋征收与补偿活动，维护公共利益，保障被征收房屋所有权人的合法权益，制定本办法。"
    * 8
)

OLD = Document(
    id="old",
    title="示例市房屋征收补偿暂行办法",
    body=BODY,
    doc_number="示府发〔2016〕3号",
    date_written=date(2016, 2, 1),
    url="http://a.example/old",
)
NEW = Document(
    id="new",
    title="示例市房屋征收补偿办法",
    body="第一条 为规范房屋征收补偿工作，制定本办法。第二十条 本办法自2021年1月1日起施行。"
    "《示例市房屋征收补偿暂行办法》（示府发〔2016〕3号）同时废止。",
    date_written=date(2020, 12, 1),
    url="http://a.example/new",
)
REPRINT = OLD.model_copy(
    update={
        "id": "reprint",
        "url": "http://b.example/copy",
        "body": "来源：示例市人民政府网站\n" + BODY,
    }
)


def run(tmp_path: Path, tokenizer: GovTokenizer, docs: list[Document]) -> TantivyBackend:
    backend = TantivyBackend(tmp_path / "index")
    analyzer = DocumentAnalyzer(tokenizer)
    with (
        closing(NearDuplicateFinder(tmp_path / "dedup.sqlite")) as finder,
        closing(LineageGraph(tmp_path / "lineage.sqlite")) as graph,
    ):
        duplicates = DuplicateStage(finder)
        linker = Linker(graph, backend, analyzer, references_known=True)
        stages = [TextValidityStage(date(2026, 1, 1)), ReferencesStage(), duplicates]
        pipeline = IngestPipeline(analyzer, backend, stages=stages, observers=[linker.observe])
        report = pipeline.run(docs)
        linker.finish(dict(duplicates.grouped))
    assert report.documents == len(docs) - len(report.problems)
    return backend


def test_abolished_by_another_document_and_reprint_grouped(
    tmp_path: Path, tokenizer: GovTokenizer
) -> None:
    backend = run(tmp_path, tokenizer, [OLD, REPRINT, NEW])
    assert backend.count() == 2  # the reprint is not indexed twice
    old = backend.get("old")
    assert old is not None
    assert old.validity.status == "废止"
    assert old.validity.evidence == "new"
    assert old.also_at == ["http://b.example/copy"]
    new = backend.get("new")
    assert new is not None and new.validity.status == "有效"
    assert any(r.kind == "abolishes" and r.target_id == "old" for r in new.references)


def test_reingest_is_idempotent(tmp_path: Path, tokenizer: GovTokenizer) -> None:
    run(tmp_path, tokenizer, [OLD, NEW])
    backend = run(tmp_path, tokenizer, [OLD, NEW])
    assert backend.count() == 2
    old = backend.get("old")
    assert old is not None and old.validity.status == "废止"


def test_records_go_to_the_graph_a_batch_at_a_time(tmp_path: Path, tokenizer: GovTokenizer) -> None:
    backend = TantivyBackend(tmp_path / "index")
    backend.ensure_index()
    with closing(LineageGraph(tmp_path / "lineage.sqlite")) as graph:
        linker = Linker(graph, backend, DocumentAnalyzer(tokenizer), references_known=True)
        citing = "根据《某某条例》制定。"
        docs = [
            Document(id=f"d{i}", title=f"第{i}号通知", body=citing if i % 2 else "")
            for i in range(BATCH + 10)
        ]
        for document in docs:
            linker.observe(document.model_copy(update={"references": extract_references(document)}))
        # Memory stays flat: what was observed is in the graph's file, not held in a list.
        assert len(linker._records) < BATCH
        assert graph.stats()["documents"] >= BATCH
        report = linker.finish()
    assert report.documents == len(docs)
    assert report.stats["documents"] == len(docs)
    assert report.stats["references"] == len(docs) // 2
