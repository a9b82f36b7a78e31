"""Ingest pipeline: documents from any source -> stages -> analysis -> search backend.

Memory stays bounded by the batch size, whatever the corpus size.

With an `Outbox` (durable ingest), every accepted batch is written to the relational database
before the engine sees it and confirmed only after the engine acknowledged it (bulk success and
refresh). An unreachable engine does not stop ingest: documents keep being read, checked and
stored; the engine is retried with exponential backoff and the backlog is drained, oldest first,
as soon as it answers again.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from analysis.analyzer import DocumentAnalyzer
from engines.base import EngineError, EngineUnavailable, SearchBackend
from gongkai.document import AnalyzedDocument, Document
from gongkai.enrichment import DocumentStage, through_stages
from gongkai.outbox import Backoff, Outbox, OutboxDrainer, PendingDocument

if TYPE_CHECKING:
    from gongkai.enrichment_pool import EnrichmentPool

# Documents indexed before the engine is asked to commit them (refresh) and their outbox rows
# are confirmed. A commit per 500-document batch made the embedded engine write and merge a
# segment per batch: half of `gongkai ingest`'s time (issue 9). Unconfirmed rows are simply
# delivered again after a crash; re-indexing a document by id replaces it.
CONFIRM_EVERY_DOCS = 5_000


@dataclass
class _Sending:
    """A batch handed to the sending thread, which waits for its analysis and indexes it;
    the ingesting thread reads (and acts on) the outcome before the next batch goes."""

    seqs: list[int]  # its outbox rows (durable ingest)
    docs: list[Document]
    done: Future[int]


@dataclass
class IngestReport:
    documents: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # Durable ingest only: accepted documents still waiting in the outbox at the end (the
    # engine stayed unreachable), and the engine's last complaint.
    pending: int = 0
    engine_error: str | None = None

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
        enrichment: EnrichmentPool | None = None,
        outbox: Outbox | None = None,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
        confirm_every: int = CONFIRM_EVERY_DOCS,
    ) -> None:
        self.analyzer = analyzer
        self.backend = backend
        self.batch_size = batch_size
        # Stages run on this thread, in order, after ``enrichment`` (the stages that read
        # only the document, on worker processes a batch ahead: gongkai.enrichment_pool).
        self.stages = list(stages)
        self.enrichment = enrichment
        # Told about every document that is indexed (e.g. to build the lineage graph).
        self.observers = list(observers)
        self.outbox = outbox
        self.backoff = backoff or Backoff()
        self.confirm_every = confirm_every
        self._drainer = (
            OutboxDrainer(outbox, backend, analyzer, batch_size, self.backoff, sleep, self._analyze)
            if outbox is not None
            else None
        )
        # Engine state during one run (durable ingest): a backlog exists in the outbox, how
        # many attempts failed in a row, and when the next one is due (time.monotonic()).
        self._backlog = False
        self._failures = 0
        self._retry_at = 0.0
        self._engine_error: str | None = None
        # Batches the engine refused (set aside in the outbox), reported as problems.
        self._rejected: list[str] = []
        # Outbox rows indexed since the last refresh: confirmed once the engine commits them.
        self._unconfirmed: list[int] = []
        # The batch on the sending thread (one at a time, in order), and that thread, which
        # exists during `run` only.
        self._sending: _Sending | None = None
        self._sender: ThreadPoolExecutor | None = None

    def run(
        self,
        items: Iterable[Document | object],
        on_document: Callable[[], None] | None = None,
        on_problem: Callable[[object], None] | None = None,
    ) -> IngestReport:
        """Index every `Document` in ``items``; anything else is a reported problem."""
        report = IngestReport()
        started = time.perf_counter()
        self._start_engine()
        # A batch is indexed on this thread while the ingesting thread reads and analyses the
        # next (worker processes analyse on the pure-Python path), so the engine's waits (a
        # bulk request, a commit) overlap with that work (issue 9: OpenSearch pipeline
        # 795-801 -> 827-852 documents/s; the embedded engine, limited by its own indexing
        # thread, gained nothing measurable).
        self._sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gongkai-ingest")
        try:
            self._read_all(items, report, on_document, on_problem)
        finally:
            sender, self._sender = self._sender, None
            sender.shutdown(wait=True)
            self._sending = None
        report.seconds = time.perf_counter() - started
        return report

    def _read_all(
        self,
        items: Iterable[Document | object],
        report: IngestReport,
        on_document: Callable[[], None] | None,
        on_problem: Callable[[object], None] | None,
    ) -> None:
        # Keyed by id: the same document twice in one batch is indexed once (last wins).
        batch: dict[str, Document] = {}
        for enriched in self._enriched(items):
            item = through_stages(self.stages, enriched)
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
        self._await_sending()
        self._finish(report)

    def _enriched(self, items: Iterable[Document | object]) -> Iterator[Document | object]:
        """``items`` through ``enrichment``: a batch is enriched on the workers while this
        thread takes the one before it further (two batches at most in flight)."""
        if self.enrichment is None:
            yield from items
            return
        in_flight: deque[Callable[[], list[object]]] = deque()
        chunk: list[object] = []
        for item in items:
            chunk.append(item)
            if len(chunk) >= self.batch_size:
                in_flight.append(self.enrichment.submit(chunk))
                chunk = []
                if len(in_flight) > 1:
                    yield from in_flight.popleft()()
        if chunk:
            in_flight.append(self.enrichment.submit(chunk))
        while in_flight:
            yield from in_flight.popleft()()

    def _analyze(self, docs: Sequence[Document]) -> list[AnalyzedDocument]:
        # The one place a batch is analysed (the outbox drain uses it too).
        return self.analyzer.analyze_many(docs)

    def _flush(self, batch: dict[str, Document]) -> None:
        if not batch:
            return
        docs = list(batch.values())
        batch.clear()
        seqs: list[int] = []
        if self.outbox is not None:
            seqs = self.outbox.add(docs)  # durable before the engine sees them
            if self._backlog:
                # Older documents wait: deliver in order, when the next retry is due.
                if time.monotonic() >= self._retry_at:
                    self._drain_backlog()
                return
        analysed = self.analyzer.submit(docs)
        self._await_sending()  # batches reach the engine one at a time, in order
        if self.outbox is not None and self._backlog:
            return  # the engine failed meanwhile: these rows wait in the outbox, in order
        assert self._sender is not None
        done = self._sender.submit(self._index, analysed)
        self._sending = _Sending(seqs, docs, done)

    def _index(self, analysed: Callable[[], list[AnalyzedDocument]]) -> int:
        # On the sending thread.
        return self.backend.index(analysed())

    def _await_sending(self) -> None:
        """Wait for the batch on the sending thread and act on its outcome here."""
        sending, self._sending = self._sending, None
        if sending is None:
            return
        if self.outbox is None:
            sending.done.result()  # an engine error ends the run, as before
            return
        try:
            sending.done.result()
        except EngineUnavailable as exc:
            self._unconfirmed += sending.seqs
            self._outbox_failed(exc)
            return
        except EngineError:
            # Refused, not unreachable: one document at a time, so only the refused ones are
            # set aside and the rest of the batch is indexed. Earlier batches first.
            if not self._confirm():
                return
            assert self._drainer is not None
            pending = [
                PendingDocument(seq, doc)
                for seq, doc in zip(sending.seqs, sending.docs, strict=True)
            ]
            try:
                self._drainer.deliver(pending, self._rejected)
            except EngineUnavailable as exc:  # gone in between: the rows stay queued
                self._engine_failed(exc)
            return
        self._unconfirmed += sending.seqs
        if len(self._unconfirmed) >= self.confirm_every:
            self._confirm()

    def _confirm(self) -> bool:
        """Commit what was indexed and confirm its outbox rows; False on an outage (the rows
        stay queued for the retry)."""
        if not self._unconfirmed:
            return True
        try:
            self.backend.refresh()
        except EngineUnavailable as exc:
            self._outbox_failed(exc)
            return False
        assert self.outbox is not None
        self.outbox.confirm(self._unconfirmed)
        self._unconfirmed = []
        return True

    def _outbox_failed(self, exc: EngineUnavailable) -> None:
        """An outage: every unconfirmed row stays queued, marked with the error."""
        assert self.outbox is not None
        self.outbox.record_failure(self._unconfirmed, str(exc))
        self._unconfirmed = []
        self._engine_failed(exc)

    # -- durable ingest: engine outages ------------------------------------------------
    def _start_engine(self) -> None:
        self._backlog, self._failures, self._retry_at, self._engine_error = False, 0, 0.0, None
        self._rejected = []
        self._unconfirmed = []
        if self.outbox is None:
            self.backend.ensure_index()
            return
        try:
            self.backend.ensure_index()
        except EngineUnavailable as exc:
            self._engine_failed(exc)
            return
        # Documents left by an earlier run go first.
        self._backlog = self.outbox.count() > 0

    def _engine_failed(self, exc: EngineUnavailable) -> None:
        # Later batches are not sent: their rows wait in the outbox and go with the backlog,
        # in order.
        self._backlog = True
        self._failures += 1
        self._engine_error = str(exc)
        self._retry_at = time.monotonic() + self.backoff.delay(self._failures)

    def _drain_backlog(self) -> None:
        assert self._drainer is not None
        try:
            self.backend.ensure_index()
            self._drainer.drain_once(self._rejected)
        except EngineUnavailable as exc:
            self._engine_failed(exc)
            return
        self._backlog, self._failures, self._engine_error = False, 0, None

    def _finish(self, report: IngestReport) -> None:
        if self._drainer is None or self.outbox is None:
            self.backend.refresh()
            return
        self._confirm()
        if self._backlog:
            # Bounded: retry with backoff for the configured window, then leave the rest to
            # `gongkai index drain` (it is safe in the outbox).
            drained = self._drainer.drain()
            report.engine_error = drained.last_error
            self._backlog = not drained.complete
        report.pending = self.outbox.count()
        report.problems += [
            f"engine refused (kept aside; `gongkai index retry` requeues it): {error}"
            for error in self._rejected
        ]
