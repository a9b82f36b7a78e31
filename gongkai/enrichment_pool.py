"""The enrichment stages that read only the document itself, run on worker processes.

Metadata, validity, references and keywords cost ~0.45 ms a 2,000-character document (1.2 ms
when first profiled for issue 9), about as much as analysis and indexing together; on the
ingesting thread they held `gongkai ingest` to one core. They are pure functions of the
document, so a batch is split into chunks that worker processes enrich while the ingesting
thread deals with the batch before it (duplicates, the outbox, indexing). Results come back
in input order.

What crosses the process boundary is the `Document` itself (pickled). Stages that keep state
(the duplicate finder) stay in the ingesting process: their order matters. The costly,
stateless part of the duplicate check, the document's MinHash signature (0.11 ms native,
0.5 ms in Python), is computed on the workers too and handed to the finder (`Presigned`),
keyed by the text it was computed from. So is the document's analysis for indexing
(`Preanalysed`, ~0.22 ms): the keywords stage needs the body's token counts anyway, and
reading them off that analysis segments the body once instead of twice (~7% more
documents/s, issue 9).

Until a worker has loaded (~1-2 s), batches are enriched in the ingesting thread; if a worker
dies, the batch it held and the rest of the run are too (nothing is lost).

A script that ingests through this pool needs Python's ``if __name__ == "__main__":`` guard:
the forkserver imports the main module, and an unguarded one runs its ingest again there and
the workers die (the ingest then goes on in one thread, ~490 instead of ~630 documents/s).
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

import numpy as np

from analysis.analyzer import DocumentAnalyzer, Fields, analysis_key, body_token_counts
from analysis.dedup import MinHashSigner
from analysis.keywords import KeywordExtractor
from analysis.metadata import MetadataExtractor
from analysis.native import TokenCounter
from analysis.tokenizer import GovTokenizer
from gongkai.document import Document
from gongkai.enrichment import (
    DocumentStage,
    KeywordsStage,
    ReferencesStage,
    TextValidityStage,
    through_stages,
)
from gongkai.parallel import default_workers

log = logging.getLogger(__name__)

# Documents sent to a worker in one message (as in gongkai.parallel).
CHUNK = 32
# Fewer documents than this are enriched in this process: starting the workers (~1 s) is not
# worth it for a handful, and small ingests (tests, the samples) never start them.
MIN_PARALLEL = 2 * CHUNK

# What comes back for one item: the enriched document, or why a stage dropped it, or the
# item itself when it was not a document (a problem the reader reported), untouched.
Enriched = Document | str | object


class Presigned(Protocol):
    """A duplicate finder that takes signatures computed elsewhere (`NearDuplicateFinder`)."""

    signer: MinHashSigner

    def remember_signature(self, doc: Document, signature: np.ndarray) -> None: ...


class Preanalysed(Protocol):
    """An analyser that takes analyses computed elsewhere (`DocumentAnalyzer`)."""

    tokenizer: GovTokenizer

    def remember_analysis(self, doc: Document, fields: Fields) -> None: ...


def text_stages(today: date, tokenizer: GovTokenizer) -> list[DocumentStage]:
    """The stages that need nothing but the document, in the order an ingest runs them
    (metadata first: the later stages read the fields it fills; keywords last)."""
    return [
        MetadataExtractor(),
        TextValidityStage(today),
        ReferencesStage(),
        KeywordsStage(KeywordExtractor(tokenizer)),
    ]


@dataclass
class _Worker:
    """What a worker process enriches with, built once by `_start_worker`."""

    stages: list[DocumentStage]
    signer: MinHashSigner | None
    # With an analyser, the worker also analyses each document for indexing and reads the
    # keywords' body tokens off that analysis: the body is segmented once, not twice.
    analyzer: DocumentAnalyzer | None
    _before_keywords: list[DocumentStage] = field(init=False)
    _keywords: KeywordsStage = field(init=False)
    _counter: TokenCounter = field(init=False)

    def __post_init__(self) -> None:
        *self._before_keywords, keywords = self.stages
        assert isinstance(keywords, KeywordsStage), "text_stages ends with keywords"
        self._keywords = keywords
        self._counter = TokenCounter(use_native=keywords.extractor.tokenizer.use_native)

    def enrich(self, doc: Document) -> tuple[Enriched, np.ndarray | None, Fields | None]:
        fields = None
        if self.analyzer is None:
            item = through_stages(self.stages, doc)
        else:
            keywords = self._keywords
            item = through_stages(self._before_keywords, doc)
            if isinstance(item, Document):
                fields = self.analyzer.analyze_text(*analysis_key(item))
                counts = body_token_counts(item, fields, self._counter)
                item = keywords.process(item, counts)
        if not isinstance(item, Document):
            return item, None, None
        return item, None if self.signer is None else self.signer.sign(item), fields


# The worker process's own (one per process, never shared).
_worker: _Worker | None = None


def _start_worker(
    today: date,
    extra_terms: tuple[str, ...],
    stop_words: frozenset[str],
    use_native: bool,
    num_perm: int | None,
    analyse: bool,
) -> None:
    global _worker
    tokenizer = GovTokenizer(extra_terms=extra_terms, stop_words=stop_words, use_native=use_native)
    _worker = _Worker(
        text_stages(today, tokenizer),
        MinHashSigner(num_perm) if num_perm else None,
        DocumentAnalyzer(tokenizer) if analyse else None,
    )


def _started() -> bool:
    return _worker is not None


def _enrich_chunk(docs: list[Document]) -> list[tuple[Enriched, np.ndarray | None, Fields | None]]:
    """Each document enriched, with its signature and analysis when the pool hands them on."""
    assert _worker is not None, "worker not initialised"
    return [_worker.enrich(doc) for doc in docs]


class EnrichmentPool:
    """`text_stages` over batches, on ``workers`` processes; small batches stay here, and so
    do batches that come before a worker is ready.

    Close it (or use it as a context manager) to stop the workers.
    """

    def __init__(
        self,
        today: date,
        tokenizer: GovTokenizer,
        presign: Presigned | None = None,
        workers: int | None = None,
        preanalyse: Preanalysed | None = None,
    ) -> None:
        """``presign``: the duplicate finder that gets each enriched document's signature;
        ``preanalyse``: the analyser that gets each one's analysis (it must use ``tokenizer``:
        the workers build theirs like it)."""
        if preanalyse is not None and preanalyse.tokenizer is not tokenizer:
            raise ValueError("preanalyse must analyse with the pool's tokenizer")
        self.today = today
        self.tokenizer = tokenizer
        self.presign = presign
        self.preanalyse = preanalyse
        self.workers = workers or default_workers()
        # The same stages in this process, for small batches (sharing the caller's tokeniser).
        self._local = text_stages(today, tokenizer)
        self._pool: Executor | None = None
        # Done once a worker has started (loaded its tokeniser and stages).
        self._ready: Future[bool] | None = None
        # Why the workers were given up (a worker died): the rest runs here.
        self.broken: str | None = None

    def start(self, wait: bool = False) -> None:
        """Start the workers now (they take ~1-2 s to load); ``wait`` for one to be ready.
        Until one is, batches are enriched here: a small ingest never waits for them."""
        if self._pool is None and self.workers > 1 and self.broken is None:
            # forkserver: workers start from a clean process, safe beside the engine's threads.
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("forkserver"),
                initializer=_start_worker,
                initargs=(
                    self.today,
                    tuple(self.tokenizer.extra_terms),
                    self.tokenizer.stop_words,
                    self.tokenizer.use_native,
                    None if self.presign is None else self.presign.signer.num_perm,
                    self.preanalyse is not None,
                ),
            )
            self._ready = self._pool.submit(_started)
        if wait and self._ready is not None:
            self._ready.result()

    def submit(self, items: Sequence[object]) -> Callable[[], list[Enriched]]:
        """Start enriching ``items`` (documents, and anything else, passed through); the
        returned function waits and gives the results in input order."""
        docs = [item for item in items if isinstance(item, Document)]
        if len(docs) >= MIN_PARALLEL:
            self.start()
        if len(docs) < MIN_PARALLEL or self._ready is None or not self._ready.done():
            done = self._here(items)
            return lambda: done
        assert self._pool is not None
        pool = self._pool
        try:
            chunks = [
                pool.submit(_enrich_chunk, docs[i : i + CHUNK]) for i in range(0, len(docs), CHUNK)
            ]
        except BrokenProcessPool as exc:
            self._give_up(exc)
            done = self._here(items)
            return lambda: done
        return lambda: self._in_order(items, chunks)

    def _here(self, items: Sequence[object]) -> list[Enriched]:
        return [through_stages(self._local, item) for item in items]

    def _give_up(self, exc: BaseException) -> None:
        """A worker died (killed, out of memory): enrich the rest in this process. Nothing
        is lost: the batch whose results did not come back is enriched here again."""
        self.broken = f"{type(exc).__name__}: {exc}"
        log.warning("enrichment workers stopped (%s); enriching in the ingesting process", exc)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool, self._ready = None, None

    def _in_order(
        self,
        items: Sequence[object],
        chunks: list[Future[list[tuple[Enriched, np.ndarray | None, Fields | None]]]],
    ) -> list[Enriched]:
        try:
            results = iter([result for chunk in chunks for result in chunk.result()])
        except BrokenProcessPool as exc:
            self._give_up(exc)
            return self._here(items)
        ordered: list[Enriched] = []
        for item in items:
            if not isinstance(item, Document):
                ordered.append(item)
                continue
            enriched, signature, fields = next(results)
            if signature is not None and self.presign is not None:
                assert isinstance(enriched, Document)
                self.presign.remember_signature(enriched, signature)
            if fields is not None and self.preanalyse is not None:
                assert isinstance(enriched, Document)
                self.preanalyse.remember_analysis(enriched, fields)
            ordered.append(enriched)
        return ordered

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool, self._ready = None, None

    def __enter__(self) -> EnrichmentPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
