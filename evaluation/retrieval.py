"""Retrieval evaluation: Recall@k and MRR@10 of the default ranking against judged queries.

Queries usually have one gold passage (msga_govqa), so precision says little; recall at a few
depths and the reciprocal rank of the first gold hit say what a searcher experiences.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from engines.base import SearchQuery
from evaluation.records import jsonl_records
from search_api.queries import MAX_QUERY_TERMS
from search_api.service import SearchService, hit_view

DEPTH = 100


@dataclass(frozen=True)
class JudgedQuery:
    id: str
    text: str
    relevant: frozenset[str]


def score_ranking(ranked: Sequence[str], relevant: frozenset[str]) -> dict[str, float]:
    """Metrics of one ranked id list against its relevant set."""
    first = next((i for i, doc_id in enumerate(ranked) if doc_id in relevant), None)
    found = {k: float(first is not None and first < k) for k in (1, 10, 100)}
    return {
        "recall@1": found[1],
        "recall@10": found[10],
        "recall@100": found[100],
        "mrr@10": 1.0 / (first + 1) if first is not None and first < 10 else 0.0,
    }


# Ranks the index for one query text: ids, best first, at most `DEPTH`.
Ranker = Callable[[str], list[str]]


def default_ranker(service: SearchService) -> Ranker:
    """The ranking users get: `SearchService.search` (query language, bigrams, synonyms,
    boosts, snippets)."""

    def rank(text: str) -> list[str]:
        return [h.id for h in service.search(text, limit=DEPTH).hits]

    return rank


def hybrid_ranker(service: SearchService) -> Ranker:
    """The default ranking with the dense stage fused in (search_api/hybrid.py); each query's
    latency includes embedding it. ``service`` must have a `DenseRanking` with vectors."""
    if service.dense is None or not service.dense.ready():
        raise ValueError("hybrid ranking needs a SearchService with stored vectors")
    return default_ranker(service)


def plain_bm25_ranker(service: SearchService) -> Ranker:
    """The baseline: BM25 over the project's jieba tokens alone, title and body at equal
    weight, no bigrams, synonyms, boosts or re-scoring; snippets made the same way, so the
    latencies compare."""

    def rank(text: str) -> list[str]:
        terms = service.tokenizer.query_terms(text[: service.max_query_chars])[:MAX_QUERY_TERMS]
        result = service.backend.search(SearchQuery(terms=terms, limit=DEPTH))
        return [hit_view(h, terms).id for h in result.hits]

    return rank


def evaluate(
    ranker: Ranker | SearchService,
    queries: Sequence[JudgedQuery],
    on_query: Callable[[], None] | None = None,
) -> dict[str, float | int]:
    """Run every query against the full index and average the metrics."""
    rank = default_ranker(ranker) if isinstance(ranker, SearchService) else ranker
    totals = {"recall@1": 0.0, "recall@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}
    latencies = []
    for query in queries:
        started = time.perf_counter()
        ranked = rank(query.text)
        latencies.append(time.perf_counter() - started)
        for name, value in score_ranking(ranked, query.relevant).items():
            totals[name] += value
        if on_query:
            on_query()
    n = max(len(queries), 1)
    result: dict[str, float | int] = {k: round(v / n, 4) for k, v in totals.items()}
    result["queries"] = len(queries)
    if latencies:
        latencies.sort()
        result["latency_ms_p50"] = round(statistics.median(latencies) * 1000, 2)
        # Nearest rank, rounded up: with few queries the 99th percentile is the slowest one.
        p99 = latencies[math.ceil(0.99 * (len(latencies) - 1))]
        result["latency_ms_p99"] = round(p99 * 1000, 2)
    return result


class QueryFileError(ValueError):
    """A judged-queries file that cannot be used; the message names the line."""


def load_judged_queries(path: Path) -> list[JudgedQuery]:
    """Queries from JSONL with ``id``, ``text`` and ``relevant_doc_ids``."""
    queries = []
    for number, record in jsonl_records(path, QueryFileError):
        try:
            queries.append(
                JudgedQuery(
                    id=str(record.get("id", number)),
                    text=str(record["text"]),
                    relevant=frozenset(record["relevant_doc_ids"]),
                )
            )
        except (KeyError, TypeError) as exc:
            raise QueryFileError(f"{path}:{number}: not a judged query ({exc})") from exc
    return queries
