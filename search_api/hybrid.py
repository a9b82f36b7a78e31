"""Hybrid ranking: the lexical (BM25) top hits fused with the dense (embedding) top hits.

The fusion rule, in full:

- candidates: the lexical top `FUSION_DEPTH` and the dense top `FUSION_DEPTH`;
- each signal is min-max normalised over the candidates of this one query (BM25 scores have no
  fixed scale; cosines of one model cluster in a narrow band), so both lie in [0, 1]; a
  candidate outside the lexical top gets the lexical floor 0; a candidate without a current
  vector is scored by its lexical part alone (it is neither lifted nor sunk by a missing vector);
- fused = `LEXICAL_WEIGHT` x lexical + `DENSE_WEIGHT` x dense, best first, ties by id;
- a document whose 发文字号 the query typed stays in front of them all (a librarian typing a
  number wants that document, however its text compares);
- every other hit of the lexical window follows in lexical order.

Why a weighted sum of normalised scores rather than reciprocal-rank fusion: ranks throw away
how far ahead the first hit is, and on government Q&A the dense signal is often decisive for
one passage; the prototype on msga_govqa dev agreed (RRF k=60 lost to the weighted sum). Why
the dense side weighs more: the dense models alone rank better than BM25 there (R@10 0.923 vs
0.861); the lexical part keeps exact names and numbers in front. The dense side is two models
joined into one cosine (analysis/embeddings.py); with them the lexical weight went from 0.3 to
0.2 (msga_govqa dev, MRR@10 in an offline replay: 0.748 at 0.3, 0.763 at 0.2, 0.765 at 0.1,
each half of dev alike; 0.2 keeps more weight on exact words than the dev optimum).

Why a shallow depth: min-max over a long tail squeezes the scores of the few good candidates
together, and each dense-only candidate costs one document fetch from the engine.

Queries with constraints (filters, a year range, required or excluded words) fuse only within
the lexical window, which the engine has already filtered: a dense candidate from outside it
could break a constraint. Free-text queries admit dense candidates from the whole index.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

from sqlalchemy import Engine

from analysis.docnumber import doc_number_terms
from analysis.embeddings import (
    DENSE_MODEL,
    Embedder,
    Vectors,
    dense_available,
    load_embedder,
    model_files_for,
    passage_text,
    text_hash,
)
from analysis.model_files import BGE_SMALL_ZH
from engines.base import SearchHit, SearchQuery
from gongkai.document import Document
from gongkai.settings import Settings
from gongkai.vectors import VectorIndex, VectorStore

FUSION_DEPTH = 20
LEXICAL_WEIGHT = 0.2
DENSE_WEIGHT = 0.8
# Only the start of a query is embedded: the model's cost grows with the text (1.6 s of CPU
# for a 1,100-character question) and a question's gist comes first.
MAX_EMBEDDED_QUERY_CHARS = 256
_log = logging.getLogger(__name__)
# A server notices vectors added (or an empty store filled) by `gongkai index embed` this often.
RECHECK_S = 60.0


def _normalised(values: Mapping[str, float]) -> dict[str, float]:
    """Min-max to [0, 1]; all equal (or one value) -> 1 for each."""
    if not values:
        return {}
    low, high = min(values.values()), max(values.values())
    if high <= low:
        return dict.fromkeys(values, 1.0)
    return {key: (value - low) / (high - low) for key, value in values.items()}


def fuse(
    lexical: Sequence[SearchHit],
    dense: Sequence[SearchHit],
    similarity: Mapping[str, float],
    depth: int = FUSION_DEPTH,
    named: Sequence[str] = (),
) -> list[SearchHit]:
    """The fused order (see the module docstring). ``lexical`` is the engine's order, ``dense``
    the dense top hits best first (may overlap ``lexical``), ``similarity`` the cosine of each
    document that has a current vector, ``named`` the ids of lexical top hits whose 发文字号
    the query typed (`named_by_number`). Fused candidates carry the fused score."""
    top = list(lexical[:depth])
    candidates = {h.id: h for h in top}
    for hit in dense[:depth]:
        candidates.setdefault(hit.id, hit)
    lexical_part = _normalised({h.id: h.score for h in top})
    dense_part = _normalised({i: similarity[i] for i in candidates if i in similarity})

    def score(doc_id: str) -> float:
        lex = lexical_part.get(doc_id, 0.0)
        return LEXICAL_WEIGHT * lex + DENSE_WEIGHT * dense_part.get(doc_id, lex)

    fused = {doc_id: score(doc_id) for doc_id in candidates}
    first = set(named) & set(candidates)
    order = [h.id for h in top if h.id in first] + sorted(
        candidates.keys() - first, key=lambda doc_id: (-fused[doc_id], doc_id)
    )
    head = [candidates[i].model_copy(update={"score": fused[i]}) for i in order]
    return head + [h for h in lexical[depth:] if h.id not in candidates]


def named_by_number(query: SearchQuery, hits: Sequence[SearchHit]) -> list[str]:
    """Ids of ``hits`` whose 发文字号 the query typed (the engine matched them on it)."""
    typed = {
        value
        for clause in query.clauses
        for match in clause.matches
        if match.kind == "doc_number"
        for value in match.values
    }
    if not typed:
        return []
    return [
        h.id
        for h in hits
        if h.document.doc_number and typed.intersection(doc_number_terms(h.document.doc_number))
    ]


def constrained(query: SearchQuery) -> bool:
    """Whether ``query`` restricts which documents may appear (beyond ranking them)."""
    return bool(
        any(query.filters.values())
        or query.year_from is not None
        or query.year_to is not None
        or any(c.occur != "should" for c in query.clauses)
    )


@dataclass(frozen=True)
class DenseProbe:
    """One query's cosines against every stored vector."""

    model: str
    vectors: VectorIndex
    scores: Vectors

    def top(self, k: int) -> list[tuple[str, float]]:
        return self.vectors.top(self.scores, k)

    def similarity(self, doc: Document) -> float | None:
        """Cosine with ``doc``, or None when its vector is missing or of other text."""
        if self.vectors.hash_of(doc.id) != text_hash(self.model, passage_text(doc)):
            return None
        return self.vectors.score_of(self.scores, doc.id)


class DenseRanking:
    """The stored vectors (loaded once, reloaded when their count changes) and the query
    embedder (made on first use: the model loads only when there is something to rank)."""

    def __init__(
        self,
        store: VectorStore,
        embedder_factory: Callable[[], Embedder],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self._factory = embedder_factory
        self._embedder: Embedder | None = None
        self._vectors: VectorIndex | None = None
        self._count = -1
        self._checked_at: float | None = None
        self._clock = clock

    def ready(self) -> bool:
        """Whether there are vectors to rank with (checked at most every `RECHECK_S`)."""
        now = self._clock()
        if self._checked_at is None or now - self._checked_at >= RECHECK_S:
            self._checked_at = now
            count = self.store.count()
            if count != self._count:
                self._count = count
                self._vectors = self.store.load() if count else None
        return self._vectors is not None and len(self._vectors) > 0

    def probe(self, text: str) -> DenseProbe:
        """Embed ``text`` as a query and score it against every stored vector."""
        if self._embedder is None:
            self._embedder = self._factory()
        vectors = self._vectors
        assert vectors is not None, "probe() before ready()"
        return DenseProbe(
            self.store.model,
            vectors,
            vectors.scores(self._embedder.embed_query(text[:MAX_EMBEDDED_QUERY_CHARS])),
        )


def dense_ranking_for(settings: Settings, database: Engine) -> DenseRanking | None:
    """The dense stage for a server or CLI, or None when it is turned off
    (``GONGKAI_DENSE_RANKING=false``), a package it needs is not installed or bge's files
    are not on disk (`gongkai index embed` fetches them; a search never downloads). With no
    vectors stored it stays idle (`DenseRanking.ready`) and the models are never loaded."""
    if not settings.dense_ranking or not dense_available():
        return None
    models = model_files_for(settings)
    if not models.present(BGE_SMALL_ZH):
        _log.warning(
            "dense ranking is off: %s is not in %s (run `gongkai index embed`)",
            BGE_SMALL_ZH.artifact,
            settings.model_dir,
        )
        return None
    store = VectorStore(database, DENSE_MODEL)
    # One thread: a server answers several searches at once; ~40 ms a query on this CPU.
    return DenseRanking(store, partial(load_embedder, threads=1, models=models, fetch=False))
