"""Retrieval evaluation: Recall@k and MRR@10 of the default ranking against judged queries.

Queries usually have one gold passage (msga_govqa), so precision says little; recall at a few
depths and the reciprocal rank of the first gold hit say what a searcher experiences.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from evaluation.records import jsonl_records
from search_api.service import SearchService

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


def evaluate(
    service: SearchService,
    queries: Sequence[JudgedQuery],
    on_query: Callable[[], None] | None = None,
) -> dict[str, float | int]:
    """Run every query against the full index and average the metrics."""
    totals = {"recall@1": 0.0, "recall@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}
    latencies = []
    for query in queries:
        started = time.perf_counter()
        response = service.search(query.text, limit=DEPTH)
        latencies.append(time.perf_counter() - started)
        for name, value in score_ranking([h.id for h in response.hits], query.relevant).items():
            totals[name] += value
        if on_query:
            on_query()
    n = max(len(queries), 1)
    result: dict[str, float | int] = {k: round(v / n, 4) for k, v in totals.items()}
    result["queries"] = len(queries)
    if latencies:
        latencies.sort()
        result["latency_ms_p50"] = round(statistics.median(latencies) * 1000, 2)
        result["latency_ms_p99"] = round(latencies[int(0.99 * (len(latencies) - 1))] * 1000, 2)
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
