"""`rebuild_index`: a new versioned index, re-analysed, while searches keep answering."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

from analysis.analyzer import DocumentAnalyzer
from analysis.tokenizer import GovTokenizer
from engines import make_backend
from engines.base import Clause, Match, SearchBackend, SearchQuery
from gongkai.audit import AuditLog
from gongkai.database import create_database_engine
from gongkai.document import AnalyzedDocument, Document
from gongkai.outbox import Outbox
from gongkai.pipeline import IngestPipeline
from gongkai.reindex import rebuild_index
from gongkai.settings import Settings
from tests.support.cli import run_gongkai

AGENCIES = ["民政局", "人力资源和社会保障局", "住房和城乡建设局", "财政局"]
# A token no tokeniser produces: only documents analysed by `MarkingAnalyzer` carry it.
MARK = "重建标记"
# Upper bound on the background searches (the loop also stops when the rebuild ends).
MAX_SEARCHES = 5000


def corpus(n: int) -> list[Document]:
    return [
        Document(
            id=f"r{i:05d}",
            title=f"关于做好最低生活保障工作的通知（第{i}号）",
            body=f"{AGENCIES[i % 4]}发布。为做好最低生活保障、医疗救助和就业补贴工作，"
            f"现通知如下：第{i}条。",
            agency=[AGENCIES[i % 4]],
        )
        for i in range(n)
    ]


class MarkingAnalyzer(DocumentAnalyzer):
    """Today's analyser plus one extra title token: stands for a changed tokeniser, so the
    test can tell a re-analysed document from a copied one."""

    def analyze_many(self, docs: Sequence[Document]) -> list[AnalyzedDocument]:
        return [self.analyze(d) for d in docs]

    def analyze(self, doc: Document) -> AnalyzedDocument:
        analysed = super().analyze(doc)
        analysed.title_text = f"{analysed.title_text} {MARK}".strip()
        return analysed


def query(terms: list[str]) -> SearchQuery:
    return SearchQuery(
        clauses=[Clause(matches=[Match(kind="term", values=terms)], fields=["title"])], limit=5
    )


def test_rebuild_reanalyses_while_search_keeps_answering(
    engine_settings: Settings, backend: SearchBackend, tokenizer: GovTokenizer
) -> None:
    docs = corpus(1500)
    IngestPipeline(DocumentAnalyzer(tokenizer), backend, batch_size=500).run(docs)
    assert backend.count() == 1500
    old = backend.health()["index"]
    assert backend.search(query([MARK])).total == 0

    # Another reader, as a web server process would have: its own backend object.
    reader = make_backend(engine_settings)
    during: list[int] = []
    background: list[int] = []
    failures: list[BaseException] = []
    done = threading.Event()

    def search_all_along() -> None:
        for _ in range(MAX_SEARCHES):
            if done.is_set():
                return
            try:
                background.append(backend.search(query(["最低生活保障"])).total)
            except BaseException as exc:  # any failure is a finding
                failures.append(exc)

    def search_midway() -> None:
        # Called from inside the rebuild every 250 documents: provably during it.
        if len(during) * 250 < seen[0]:
            during.append(reader.search(query(["最低生活保障"])).total)

    seen = [0]

    def on_document() -> None:
        seen[0] += 1
        search_midway()

    thread = threading.Thread(target=search_all_along)
    thread.start()
    try:
        report = rebuild_index(
            backend, MarkingAnalyzer(tokenizer), batch_size=200, on_document=on_document
        )
    finally:
        done.set()
        thread.join(timeout=60)
    # The long-running reader follows the switch: it now answers from the new index.
    assert reader.search(query([MARK])).total == 1500
    reader.close()

    assert not failures, failures[:3]
    assert background and all(total > 0 for total in background)
    # Mid-rebuild the old index still answered, with all of it (the alias had not moved).
    assert len(during) >= 5 and set(during) == {1500}
    assert report.documents == 1500 and report.index != old
    assert backend.health()["index"] == report.index
    assert backend.count() == 1500
    # Every document went through the new analyser.
    assert backend.search(query([MARK])).total == 1500
    fresh = make_backend(engine_settings)
    try:
        assert fresh.search(query([MARK])).total == 1500
        assert fresh.get("r00042") == docs[42]
    finally:
        fresh.close()


def test_rebuild_delivers_the_outbox_backlog_into_the_new_index(
    db_settings: Settings, tokenizer: GovTokenizer
) -> None:
    backend = make_backend(db_settings)
    database = create_database_engine(db_settings)
    try:
        IngestPipeline(DocumentAnalyzer(tokenizer), backend).run(corpus(20))
        outbox = Outbox(database)
        outbox.add([Document(id="late", title="迟到的通知", body="等待索引")])
        report = rebuild_index(backend, DocumentAnalyzer(tokenizer), outbox=outbox)
        assert (report.documents, report.drained, report.pending) == (20, 1, 0)
        assert backend.count() == 21 and backend.get("late") is not None
    finally:
        backend.close()
        database.dispose()


def test_cli_rebuild(tmp_path: Path) -> None:
    samples = Path(__file__).resolve().parents[2] / "samples" / "sample_docs.jsonl"
    assert run_gongkai("ingest", str(samples), data_dir=tmp_path).returncode == 0
    before = run_gongkai("search", "最低生活保障", "--json", data_dir=tmp_path)
    done = run_gongkai("index", "rebuild", "--json", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert '"documents": 40' in done.stdout
    after = run_gongkai("search", "最低生活保障", "--json", data_dir=tmp_path)
    assert after.returncode == 0, after.stderr
    # Same documents found; scores may move a little (the old index counted replaced
    # documents in its term statistics until segments merged, the new one has none).
    old, new = json.loads(before.stdout), json.loads(after.stdout)
    assert new["total"] == old["total"] > 0
    assert {h["id"] for h in new["hits"]} == {h["id"] for h in old["hits"]}
    # An admin operation: recorded in the audit log with the index before and after.
    database = create_database_engine(Settings(data_dir=tmp_path))
    [entry] = AuditLog(database).entries(action="index.rebuild")
    database.dispose()
    assert entry.actor.startswith("cli:") and entry.after is not None
    assert entry.before is not None and entry.before["index"] != entry.after["index"]
