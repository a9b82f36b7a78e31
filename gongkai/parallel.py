"""Document analysis spread over processes, for the pure-Python path: segmentation holds the
GIL (rjieba releases it never), so threads do not help and a process per core does.

With the native analyser (`analysis.native`) documents are analysed in the calling thread:
at ~0.25 ms for 2,000 characters, sending them to worker processes and their tokens back
costs more than the analysis, and the second core is busy with the engine's indexing thread
anyway. Measured with bench/ingest.py (10,000 documents, two runs, each beside the calling
thread's 1,510-1,513 docs/s): 2 worker processes 1,110, 2 worker threads 1,296.

What crosses the process boundary is kept to a few large strings: a worker gets (title, body,
title_derived) and answers each field's tokens joined by spaces (`AnalyzedDocument`'s own
form). Pickling thousands of small token strings instead cost as much as segmenting them
(DESIGN.md).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor

from analysis.analyzer import DocumentAnalyzer, analysis_key, searchable_body
from analysis.tokenizer import GovTokenizer
from gongkai.document import AnalyzedDocument, Document

# Documents sent to a worker in one message: large enough that the per-message cost vanishes,
# small enough that both workers get a share of a 500-document batch.
CHUNK = 32
# Fewer documents than this are analysed in this process: starting the workers (~1 s) is not
# worth it for a handful, and small ingests (tests, a crawl's trickle) never start them.
MIN_PARALLEL = 2 * CHUNK

_Job = tuple[str, str, bool]
_Answer = tuple[str, str, str, str]

# The worker process's analyser, built once by `_start_worker` (one per process, never shared).
_worker: DocumentAnalyzer | None = None


def _start_worker(extra_terms: tuple[str, ...], stop_words: frozenset[str]) -> None:
    global _worker
    # Workers exist only for the pure-Python path (`ParallelAnalyzer._in_process`).
    _worker = DocumentAnalyzer(
        GovTokenizer(extra_terms=extra_terms, stop_words=stop_words, use_native=False)
    )


def _analyse_chunk(jobs: list[_Job]) -> list[_Answer]:
    assert _worker is not None, "worker not initialised"
    return [_worker.analyze_text(title, body, derived) for title, body, derived in jobs]


def default_workers() -> int:
    """One worker per core this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class ParallelAnalyzer(DocumentAnalyzer):
    """A `DocumentAnalyzer` whose `analyze_many` runs on ``workers`` processes; the result is
    the same list the sequential analyser gives. With the native analyser, one worker, or a
    small batch, it stays in this process.

    Close it (or use it as a context manager) to stop the workers.
    """

    def __init__(self, tokenizer: GovTokenizer, workers: int | None = None) -> None:
        super().__init__(tokenizer)
        self.workers = workers or default_workers()
        self._pool: Executor | None = None

    def _executor(self) -> Executor:
        if self._pool is None:
            # forkserver: workers start from a clean process, safe beside the engine's threads.
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("forkserver"),
                initializer=_start_worker,
                initargs=(tuple(self.tokenizer.extra_terms), self.tokenizer.stop_words),
            )
        return self._pool

    def _in_process(self, docs: Sequence[Document]) -> bool:
        native = self.tokenizer.native is not None
        return (
            native
            or self.workers <= 1
            or len(docs) < MIN_PARALLEL
            # Analysed already, on the enrichment workers (`remember_analysis`).
            or all(analysis_key(doc) in self._remembered for doc in docs)
        )

    def analyze_many(self, docs: Sequence[Document]) -> list[AnalyzedDocument]:
        if self._in_process(docs):
            return super().analyze_many(docs)
        return self.submit(docs)()

    def submit(self, docs: Sequence[Document]) -> Callable[[], list[AnalyzedDocument]]:
        if self._in_process(docs):
            return super().submit(docs)  # its analyze_many call stays in this process
        jobs = [(d.title, searchable_body(d), d.title_derived) for d in docs]
        pool = self._executor()
        futures = [
            pool.submit(_analyse_chunk, jobs[i : i + CHUNK]) for i in range(0, len(jobs), CHUNK)
        ]
        return lambda: self._assemble(docs, (f.result() for f in futures))

    @staticmethod
    def _assemble(
        docs: Sequence[Document], answers: Iterable[list[_Answer]]
    ) -> list[AnalyzedDocument]:
        analysed = []
        position = 0
        for chunk in answers:
            for title_tokens, body_tokens, title_grams, body_grams in chunk:
                analysed.append(
                    # Not validated again: the worker built the strings (see DocumentAnalyzer).
                    AnalyzedDocument.model_construct(
                        document=docs[position],
                        title_text=title_tokens,
                        body_text=body_tokens,
                        title_gram_text=title_grams,
                        body_gram_text=body_grams,
                    )
                )
                position += 1
        return analysed

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __enter__(self) -> ParallelAnalyzer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
