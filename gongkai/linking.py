"""After an ingest run: link documents to each other and write what that tells back into the
index — lineage (cites / amends / abolishes), validity decided by other documents, and the
other places a reprinted document is published."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from analysis.analyzer import DocumentAnalyzer
from analysis.lineage import LineageGraph, LineageRecord
from engines.base import SearchBackend
from gongkai.document import Document, Validity

BATCH = 500


def lineage_path(data_dir: Path) -> Path:
    return data_dir / "lineage.sqlite"


@dataclass
class LinkReport:
    documents: int = 0
    validity_changed: int = 0
    regrouped: int = 0
    stats: dict[str, int] = field(default_factory=dict)


class Linker:
    """Collects what it needs while documents are indexed, then links them in one pass."""

    def __init__(
        self,
        graph: LineageGraph,
        backend: SearchBackend,
        analyzer: DocumentAnalyzer,
        references_known: bool = False,
    ):
        """``references_known``: the observed documents come from the references stage, so
        one without references has none to find (extracting again cost a tenth of the
        ingesting thread, issue 9 profile)."""
        self.graph = graph
        self.backend = backend
        self.analyzer = analyzer
        self.references_known = references_known
        # Records wait here a batch at a time, then go to the graph's SQLite file: memory
        # stays flat however many documents an ingest links.
        self._records: list[LineageRecord] = []
        self._observed = 0
        # Only a document with references can gain resolved targets; the rest change only
        # through validity updates or reprints (no need to read every document back).
        self._touched: set[str] = set()

    def observe(self, doc: Document) -> None:
        record = LineageRecord.from_document(doc, self.references_known)
        self._records.append(record)
        self._observed += 1
        if record.references:
            self._touched.add(record.id)
        if len(self._records) >= BATCH:
            self._store()

    def _store(self) -> None:
        self.graph.add(self._records)
        self._records = []

    def finish(self, reprints: dict[str, list[str]] | None = None) -> LinkReport:
        report = LinkReport(documents=self._observed)
        self._store()
        touched, self._touched, self._observed = self._touched, set(), 0
        updates = self.graph.validity_updates()
        changed: dict[str, Document] = {}
        wanted = sorted(touched | set(updates) | set(reprints or {}))
        for start in range(0, len(wanted), BATCH):
            # Read back a batch at a time: one engine request each, not one per document.
            found = self.backend.get_many(wanted[start : start + BATCH])
            for doc_id in wanted[start : start + BATCH]:
                doc = found.get(doc_id)
                if doc is None:
                    continue
                new = self._linked(doc, updates, reprints or {})
                if new != doc:
                    changed[doc_id] = new
                    report.validity_changed += new.validity != doc.validity
                    report.regrouped += doc_id in (reprints or {})
        ids = list(changed)
        for start in range(0, len(ids), BATCH):
            batch = [changed[i] for i in ids[start : start + BATCH]]
            self.backend.index([self.analyzer.analyze(doc) for doc in batch])
        self.backend.refresh()
        report.stats = self.graph.stats()
        return report

    def _linked(
        self, doc: Document, updates: dict[str, Validity], reprints: dict[str, list[str]]
    ) -> Document:
        update: dict[str, object] = {"references": self.graph.resolved_references(doc.id)}
        if doc.id in updates:
            update["validity"] = updates[doc.id]
        if doc.id in reprints:
            update["also_at"] = sorted({*doc.also_at, *reprints[doc.id]})
        return doc.model_copy(update=update)


def today() -> date:
    """The ingest date: the only place the clock is read for validity from text."""
    return date.today()
