"""Ingest and query benchmark on real data, the project's way beside a plain baseline.

Corpus: the 1,403 laws of lawrefbook.dev.jsonl; query load: the 1,592 questions of
msga_govqa.dev.jsonl. For each engine it prints analysis docs/s, indexing docs/s and query
latency p50/p99, for

  project   DocumentAnalyzer (rjieba in jieba's search mode, HMM off, government terms,
            character bigrams) and the project's query building (bigrams, synonyms)
  baseline  plain ``jieba.lcut`` (jieba's default mode) tokens only, same engine

Medians over --runs runs with [min-max]. OpenSearch is measured when --opensearch-url is
given or --start-opensearch starts a node from tests/engine (Maven jars).

    python bench/ingest_search.py [--runs 3] [--start-opensearch]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import REPO, percentile, shared_data, summary
from engines import make_backend
from engines.base import SearchBackend, SearchQuery
from gongkai.document import AnalyzedDocument, Document
from gongkai.settings import Settings
from search_api.queries import BODY_BOOST, TITLE_BOOST, build_search_query

Analyze = Callable[[Document], AnalyzedDocument]
Build = Callable[[str], SearchQuery]


def load_corpus(path: Path) -> list[Document]:
    from ingest.manager import read_sources

    settings = Settings()
    return [d for d in read_sources([path], settings) if isinstance(d, Document)]


def load_queries(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line)["text"] for line in handle if line.strip()]


def analyse(docs: list[Document], analyze: Analyze) -> tuple[list[AnalyzedDocument], float]:
    started = time.perf_counter()
    analysed = [analyze(d) for d in docs]
    return analysed, time.perf_counter() - started


def index(backend: SearchBackend, analysed: list[AnalyzedDocument], batch: int = 500) -> float:
    started = time.perf_counter()
    backend.ensure_index()
    for i in range(0, len(analysed), batch):
        backend.index(analysed[i : i + batch])
    backend.refresh()
    return time.perf_counter() - started


def query_latencies(backend: SearchBackend, queries: list[str], build: Build) -> list[float]:
    latencies = []
    for text in queries:
        started = time.perf_counter()
        backend.search(build(text))
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


class Way(NamedTuple):
    analyze: Analyze
    build: Build


def ways() -> dict[str, Way]:
    """The project's analysis and query building, and the plain baseline."""
    import jieba

    from analysis.analyzer import DocumentAnalyzer
    from analysis.synonyms import Thesaurus
    from analysis.tokenizer import GovTokenizer, is_word

    tokenizer = GovTokenizer()
    thesaurus = Thesaurus()
    plain = jieba.Tokenizer()
    plain.initialize()

    def plain_tokens(text: str) -> list[str]:
        return [t for t in plain.lcut(text) if is_word(t)]

    def plain_analyze(doc: Document) -> AnalyzedDocument:
        return AnalyzedDocument(
            document=doc, title_tokens=plain_tokens(doc.title), body_tokens=plain_tokens(doc.body)
        )

    def plain_query(text: str) -> SearchQuery:
        terms = list(dict.fromkeys(plain_tokens(text)))
        return SearchQuery(terms=terms, field_boosts={"title": TITLE_BOOST, "body": BODY_BOOST})

    return {
        "project": Way(
            DocumentAnalyzer(tokenizer).analyze,
            lambda text: build_search_query(text, tokenizer, thesaurus),
        ),
        "baseline (jieba.lcut)": Way(plain_analyze, plain_query),
    }


def engine_settings(kind: str, url: str | None, tmp: Path) -> Settings:
    if kind == "embedded":
        return Settings(data_dir=tmp / uuid.uuid4().hex)
    return Settings(
        engine="opensearch",
        engine_url=url or "",
        data_dir=tmp,
        index_name=f"gongkai-bench-{uuid.uuid4().hex[:8]}",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--opensearch-url")
    parser.add_argument("--start-opensearch", action="store_true")
    args = parser.parse_args()

    data = shared_data()
    docs = load_corpus(data / "lawrefbook.dev.jsonl")
    queries = load_queries(data / "msga_govqa.dev.jsonl")
    chars = sum(len(d.title) + len(d.body) for d in docs)
    print(f"corpus: {len(docs)} documents, {chars / 1e6:.1f} M chars; {len(queries)} queries")

    node = None
    url = args.opensearch_url
    if args.start_opensearch and not url:
        sys.path.insert(0, str(REPO))
        from tests.engine.node import start_node

        node = start_node()
        url = node.url
    engines = ["embedded"] + (["opensearch"] if url else [])

    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="gongkai-bench-") as tmp:
            for way, (analyze, build) in ways().items():
                analysis_rate: list[float] = []
                analysed: list[AnalyzedDocument] = []
                for _ in range(args.runs):
                    analysed, seconds = analyse(docs, analyze)
                    analysis_rate.append(len(docs) / seconds)
                for kind in engines:
                    index_rate, p50, p99 = [], [], []
                    for _ in range(args.runs):
                        backend = make_backend(engine_settings(kind, url, Path(tmp)))
                        try:
                            index_rate.append(len(analysed) / index(backend, analysed))
                            lat = query_latencies(backend, queries, build)
                            p50.append(percentile(lat, 0.5))
                            p99.append(percentile(lat, 0.99))
                        finally:
                            backend.drop()
                            backend.close()
                    rows.append(
                        (
                            kind,
                            way,
                            summary(analysis_rate),
                            summary(index_rate),
                            summary(p50),
                            summary(p99),
                        )
                    )
    finally:
        if node is not None:
            node.stop()

    header = (
        "engine",
        "tokeniser",
        "analysis docs/s",
        "index docs/s",
        "query p50 ms",
        "query p99 ms",
    )
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    print(
        f"(median [min-max] over {args.runs} runs; analysis chars/s = docs/s x "
        f"{chars / len(docs):,.0f})"
    )


if __name__ == "__main__":
    main()
