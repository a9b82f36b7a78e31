"""Document analysis spread over processes: segmentation holds the GIL (rjieba releases it
never), so threads do not help and a process per core does.

What crosses the process boundary is kept to a few large strings: a worker gets (title, body,
title_derived) and answers each field's tokens joined by NUL, which the parent splits in C.
Pickling thousands of small token strings instead cost as much as segmenting them (DESIGN.md).
NUL can never be part of a token or a bigram (`analysis.tokenizer.is_word` drops it and it
ends a run of word characters), so the split gives back exactly the lists.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor

from analysis.analyzer import DocumentAnalyzer, searchable_body
from analysis.tokenizer import GovTokenizer
from gongkai.document import AnalyzedDocument, Document

SEP = "\x00"
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
    _worker = DocumentAnalyzer(GovTokenizer(extra_terms=extra_terms, stop_words=stop_words))


def _analyse_chunk(jobs: list[_Job]) -> list[_Answer]:
    assert _worker is not None, "worker not initialised"
    answers = []
    for title, body, derived in jobs:
        fields = _worker.analyze_text(title, body, derived)
        answers.append(
            (SEP.join(fields[0]), SEP.join(fields[1]), SEP.join(fields[2]), SEP.join(fields[3]))
        )
    return answers


def _split(joined: str) -> list[str]:
    return joined.split(SEP) if joined else []


def default_workers() -> int:
    """One worker per core this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class ParallelAnalyzer(DocumentAnalyzer):
    """A `DocumentAnalyzer` whose `analyze_many` runs on ``workers`` processes; the result is
    the same list the sequential analyser gives. With one worker, or a small batch, it stays in
    this process.

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

    def analyze_many(self, docs: Sequence[Document]) -> list[AnalyzedDocument]:
        if self.workers <= 1 or len(docs) < MIN_PARALLEL:
            return super().analyze_many(docs)
        jobs = [(d.title, searchable_body(d), d.title_derived) for d in docs]
        chunks = [jobs[i : i + CHUNK] for i in range(0, len(jobs), CHUNK)]
        answers: Iterable[list[_Answer]] = self._executor().map(_analyse_chunk, chunks)
        analysed = []
        position = 0
        for chunk in answers:
            for title_tokens, body_tokens, title_grams, body_grams in chunk:
                analysed.append(
                    # Not validated again: the worker built lists of str (see DocumentAnalyzer).
                    AnalyzedDocument.model_construct(
                        document=docs[position],
                        title_tokens=_split(title_tokens),
                        body_tokens=_split(body_tokens),
                        title_grams=_split(title_grams),
                        body_grams=_split(body_grams),
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
