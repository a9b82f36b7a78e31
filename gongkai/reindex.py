"""Rebuild the search index under the current mapping version while search keeps serving.

Every indexed document is read back in its source form (`SearchBackend.iter_documents`; the
engines store the whole `Document`), analysed again with today's tokeniser, and streamed into a
new versioned index; the backend then moves the alias (a cluster) or the pointer file (the
embedded engine) in one atomic step, so searches answer from the old index until the new one is
complete. Documents still waiting in the outbox are delivered afterwards, into the new index.

Documents written to the *old* index by another process while the rebuild runs are not copied:
run a rebuild when no ingest is writing (a later drain or ingest adds them again).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from analysis.analyzer import DocumentAnalyzer
from engines.base import SearchBackend
from gongkai.document import AnalyzedDocument
from gongkai.outbox import Outbox, OutboxDrainer


@dataclass
class RebuildReport:
    index: str
    documents: int
    seconds: float
    # Outbox documents delivered into the new index after the switch.
    drained: int = 0
    pending: int = 0


def rebuild_index(
    backend: SearchBackend,
    analyzer: DocumentAnalyzer,
    *,
    outbox: Outbox | None = None,
    batch_size: int = 500,
    on_document: Callable[[], None] | None = None,
) -> RebuildReport:
    """Re-analyse every document into a new versioned index and switch search to it."""
    started = time.perf_counter()
    backend.ensure_index()
    count = 0

    def analysed() -> Iterator[AnalyzedDocument]:
        nonlocal count
        # A generator: one document in memory at a time here, the engine batches the writes.
        for doc in backend.iter_documents(batch_size):
            count += 1
            if on_document:
                on_document()
            yield analyzer.analyze(doc)

    name = backend.rebuild(analysed())
    report = RebuildReport(index=name, documents=count, seconds=0.0)
    if outbox is not None:
        # No waiting here: an unreachable engine would have failed the rebuild already.
        drained = OutboxDrainer(outbox, backend, analyzer, batch_size).drain(window_s=0)
        report.drained, report.pending = drained.indexed, drained.pending
    report.seconds = time.perf_counter() - started
    return report
