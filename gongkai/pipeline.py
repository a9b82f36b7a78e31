"""Ingest pipeline: documents from any source -> stages -> analysis -> search backend.

Memory stays bounded by the batch size, whatever the corpus size.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from analysis.analyzer import DocumentAnalyzer
from engines.base import SearchBackend
from gongkai.document import Document
from gongkai.enrichment import DocumentStage, run_stages
from ingest.base import DropItem


@dataclass
class IngestReport:
    documents: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def docs_per_second(self) -> float:
        return self.documents / self.seconds if self.seconds else 0.0


class IngestPipeline:
    """Analyses and indexes documents; reports (never raises on) per-item problems."""

    def __init__(
        self,
        analyzer: DocumentAnalyzer,
        backend: SearchBackend,
        batch_size: int = 500,
        stages: Sequence[DocumentStage] = (),
        observers: Sequence[Callable[[Document], None]] = (),
    ) -> None:
        self.analyzer = analyzer
        self.backend = backend
        self.batch_size = batch_size
        self.stages = list(stages)
        # Told about every document that is indexed (e.g. to build the lineage graph).
        self.observers = list(observers)

    def run(
        self,
        items: Iterable[Document | object],
        on_document: Callable[[], None] | None = None,
        on_problem: Callable[[object], None] | None = None,
    ) -> IngestReport:
        """Index every `Document` in ``items``; anything else is a reported problem."""
        report = IngestReport()
        started = time.perf_counter()
        self.backend.ensure_index()
        # Keyed by id: the same document twice in one batch is indexed once (last wins).
        batch: dict[str, Document] = {}
        for item in items:
            if isinstance(item, Document):
                try:
                    item = run_stages(self.stages, item)
                except DropItem as dropped:
                    item = f"dropped: {dropped}"
            if not isinstance(item, Document):
                report.problems.append(str(item))
                if on_problem:
                    on_problem(item)
                continue
            for observe in self.observers:
                observe(item)
            batch[item.id] = item
            report.documents += 1
            if on_document:
                on_document()
            if len(batch) >= self.batch_size:
                self._flush(batch)
        self._flush(batch)
        self.backend.refresh()
        report.seconds = time.perf_counter() - started
        return report

    def _flush(self, batch: dict[str, Document]) -> None:
        if batch:
            self.backend.index([self.analyzer.analyze(d) for d in batch.values()])
            batch.clear()
