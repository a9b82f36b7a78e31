"""Ingest end to end: JSONL -> documents -> analysed -> indexed, documents per second and peak
memory, the project's way beside a plain baseline in the same run.

Corpus: documents of ~2,000 characters resampled from the real lawrefbook texts, written as
JSONL once (cached in the temp folder). Every measurement runs in a fresh process, so its peak
RSS is its own. Rows:

  embedded  cli ingest (outbox), no enrichment   `gongkai ingest` with its stages off, as
                                                 `gongkai eval` indexes a corpus (native
                                                 analysis in process, gongkai.parallel)
  embedded  cli ingest, glibc's default          the same without the fixed mmap threshold that
                                                 `gongkai ingest` sets (gongkai/memory.py): the
                                                 baseline for memory
  embedded  cli ingest (outbox), enrichment      what `gongkai ingest` does: + metadata,
                                                 validity, references, keywords (on a worker
                                                 process per core, gongkai.enrichment_pool),
                                                 near-duplicates and linking (smaller corpus)
  embedded  cli ingest, enrichment in its thread the same with every stage in the ingesting
                                                 thread (as `gongkai crawl` runs them): the
                                                 baseline for the row above
  embedded  pipeline                             IngestPipeline + ParallelAnalyzer, no outbox:
                                                 the native analyser in this process, the
                                                 engine's indexing thread on the other core,
                                                 batches handed to the engine on a thread
  embedded  pipeline, Python analysis, processes the same with the pure-Python analysis on a
                                                 worker process per core (the way before the
                                                 native analyser)
  embedded  baseline: jieba.lcut, one core       the same pipeline with plain jieba tokens
  opensearch  pipeline                           IngestPipeline into the alias (refresh 1 s)
  embedded/opensearch  engine alone              `rebuild` of documents analysed beforehand
                                                 (not timed): what the engine itself indexes
                                                 on this machine (tantivy: one indexing thread
                                                 per core), the ceiling for the rows above
  opensearch  bulk load, all cores               `rebuild`: bulk into a new index with refresh
                                                 off and no replicas, two bulk requests in
                                                 flight, then the alias switch
  opensearch  bulk load, the node's first        the same, once, on the freshly started node:
                                                 its JVM is still compiling (first in the
                                                 run, it warms the node for the rows above)

Memory bounded by batch size: the pipeline and cli rows are measured at two corpus sizes
(--docs and --docs/4); peak anonymous memory (the process's own, sampled every 50 ms) should
not grow with the corpus. Peak RSS also counts the index files the engine maps, which grow
with the index and which the kernel may drop at will.

    python bench/ingest.py [--runs 3] [--docs 20000] [--start-opensearch | --opensearch-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    REPO,
    AnonymousPeak,
    corpus_path,
    peak_rss_mb,
    print_table,
    summary,
    write_corpus,
)
from gongkai.memory import MMAP_THRESHOLD_VARIABLE

WAYS = {
    "cli": "cli ingest (outbox), no enrichment",
    "cli-glibc": "cli ingest, glibc's default",
    "cli-enrich": "cli ingest (outbox), enrichment",
    "cli-enrich-inline": "cli ingest, enrichment in its thread",
    "pipeline": "pipeline",
    "python-pool": "pipeline, Python analysis, processes",
    "baseline": "baseline: jieba.lcut, one core",
    "bulk": "bulk load (refresh off), all cores",
    "bulk-cold": "bulk load, the node's first (cold JVM)",
    "engine": "engine alone: pre-analysed documents",
}


def _settings(engine: str, url: str | None, data_dir: Path) -> object:
    from gongkai.settings import Settings

    if engine == "embedded":
        return Settings(data_dir=data_dir)
    return Settings(
        engine="opensearch",
        engine_url=url or "",
        data_dir=data_dir,
        index_name=f"gongkai-bench-{uuid.uuid4().hex[:8]}",
    )


def _plain_analyzer() -> object:
    """DocumentAnalyzer whose tokens come from plain ``jieba.lcut`` (no bigrams)."""
    import warnings

    from analysis.analyzer import DocumentAnalyzer
    from analysis.tokenizer import GovTokenizer, is_word
    from gongkai.document import AnalyzedDocument, Document

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import jieba

        plain = jieba.Tokenizer()
        plain.initialize()

    class PlainAnalyzer(DocumentAnalyzer):
        def analyze(self, doc: Document) -> AnalyzedDocument:
            return AnalyzedDocument(
                document=doc,
                title_tokens=[t for t in plain.lcut(doc.title) if is_word(t)],
                body_tokens=[t for t in plain.lcut(doc.body) if is_word(t)],
            )

    return PlainAnalyzer(GovTokenizer())


def _cpu_seconds(pids: set[int] = frozenset()) -> float:  # type: ignore[assignment]
    """CPU time of this process (all its threads: the engine's too) and of ``pids``."""
    import os

    times = os.times()
    total = times.user + times.system
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _worker_pids(analyzer: object) -> set[int]:
    pool = getattr(analyzer, "_pool", None)
    return set(getattr(pool, "_processes", None) or {})


def _glibc_default(threshold: int = 0) -> bool:
    """Stands in for `fix_mmap_threshold` in the baseline: glibc's own, moving threshold."""
    return False


def _inline_enrichment(
    enrichment: Callable[..., object], *args: object, **kwargs: object
) -> object:
    """The CLI's enrichment with every stage in the ingesting thread (no worker processes)."""
    return enrichment(*args, **{**kwargs, "processes": False})


def measure_one(way: str, engine: str, corpus: Path, url: str | None) -> dict[str, float]:
    """One ingest in this process; what the parent reads from our stdout."""
    from analysis.analyzer import DocumentAnalyzer
    from analysis.tokenizer import GovTokenizer
    from engines import make_backend
    from gongkai.parallel import ParallelAnalyzer
    from gongkai.pipeline import IngestPipeline
    from gongkai.settings import Settings
    from ingest.manager import read_sources

    anonymous = AnonymousPeak()
    with tempfile.TemporaryDirectory(prefix="gongkai-bench-ingest-") as tmp:
        settings = _settings(engine, url, Path(tmp))
        assert isinstance(settings, Settings)
        backend = make_backend(settings)
        try:
            started = time.perf_counter()
            cpu_before = _cpu_seconds()
            workers: set[int] = set()
            if way.startswith("cli"):
                from search_api import cli

                if way == "cli-glibc":
                    cli.fix_mmap_threshold = _glibc_default
                if way == "cli-enrich-inline":
                    cli._enrichment = partial(_inline_enrichment, cli._enrichment)

                documents = cli._index_documents(
                    settings, [corpus], "bench", enrich=way.startswith("cli-enrich")
                )
                # The CLI's workers are gone by now: their CPU is not counted (see README).
                cpu_after = _cpu_seconds()
            elif way == "engine":
                with ParallelAnalyzer(GovTokenizer()) as beforehand:
                    ready = beforehand.analyze_many(list(read_sources([corpus], settings)))  # type: ignore[arg-type]
                documents = len(ready)
                started = time.perf_counter()
                cpu_before = _cpu_seconds()
                backend.rebuild(iter(ready))
                cpu_after = _cpu_seconds()
            elif way in ("bulk", "bulk-cold"):
                with ParallelAnalyzer(GovTokenizer()) as analyzer:
                    documents = 0

                    def analysed() -> Iterator[object]:
                        nonlocal documents
                        batch = []
                        for item in read_sources([corpus], settings):
                            batch.append(item)
                            if len(batch) >= settings.batch_size:
                                documents += len(batch)
                                yield from analyzer.analyze_many(batch)  # type: ignore[arg-type]
                                batch = []
                        documents += len(batch)
                        yield from analyzer.analyze_many(batch)  # type: ignore[arg-type]

                    backend.rebuild(analysed())  # type: ignore[arg-type]
                    workers = _worker_pids(analyzer)
                    cpu_after = _cpu_seconds(workers)
            else:
                analyzer: DocumentAnalyzer
                if way == "pipeline":
                    analyzer = ParallelAnalyzer(GovTokenizer())
                elif way == "python-pool":
                    analyzer = ParallelAnalyzer(GovTokenizer(use_native=False))
                else:
                    analyzer = _plain_analyzer()  # type: ignore[assignment]
                report = IngestPipeline(analyzer, backend, settings.batch_size).run(
                    read_sources([corpus], settings)
                )
                workers = _worker_pids(analyzer)
                cpu_after = _cpu_seconds(workers)
                if isinstance(analyzer, ParallelAnalyzer):
                    analyzer.close()
                documents = report.documents
            seconds = time.perf_counter() - started
            count = backend.count()
        finally:
            if engine == "opensearch":
                backend.drop()
            backend.close()
    return {
        "documents": documents,
        "indexed": count,
        "seconds": seconds,
        "cpu_seconds": cpu_after - cpu_before,
        "workers": len(workers),
        "rss_mb": peak_rss_mb(),
        "anon_mb": anonymous.stop(),
    }


def run_child(way: str, engine: str, corpus: Path, url: str | None) -> dict[str, float]:
    command = [
        sys.executable,
        __file__,
        "--child",
        way,
        "--engine",
        engine,
        "--corpus",
        str(corpus),
    ]
    if url:
        command += ["--opensearch-url", url]
    env = dict(os.environ)
    if way == "cli-glibc":  # glibc's own default, whatever this shell asks for
        env.pop(MMAP_THRESHOLD_VARIABLE, None)
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, check=False)
    if done.returncode != 0:
        sys.exit(f"{way} on {engine} failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--enrich-docs", type=int, default=2_000, help="enrichment is slow")
    parser.add_argument("--baseline-docs", type=int, default=2_000, help="jieba is slow")
    parser.add_argument("--opensearch-url")
    parser.add_argument("--start-opensearch", action="store_true")
    parser.add_argument(
        "--ways", nargs="+", choices=sorted(WAYS), help="measure only these ways (default: all)"
    )
    parser.add_argument("--child", choices=sorted(WAYS), help=argparse.SUPPRESS)
    parser.add_argument("--engine", default="embedded", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(measure_one(args.child, args.engine, args.corpus, args.opensearch_url)))
        return

    node = None
    url = args.opensearch_url
    if args.start_opensearch and not url:
        from tests.engine.node import start_node

        node = start_node()
        url = node.url

    big = write_corpus(corpus_path(args.docs), args.docs)
    small = write_corpus(corpus_path(args.docs // 4), args.docs // 4)
    enrich = write_corpus(corpus_path(args.enrich_docs), args.enrich_docs)
    baseline = write_corpus(corpus_path(args.baseline_docs), args.baseline_docs)
    plan: list[tuple[str, str, Path]] = [
        ("embedded", "pipeline", big),
        ("embedded", "pipeline", small),
        ("embedded", "cli", big),
        ("embedded", "cli", small),
        ("embedded", "cli-glibc", big),
        ("embedded", "cli-glibc", small),
        ("embedded", "python-pool", big),
        ("embedded", "baseline", baseline),
        ("embedded", "cli-enrich", enrich),
        ("embedded", "cli-enrich-inline", enrich),
        ("embedded", "engine", big),
    ]
    if url:
        plan += [
            # A fresh JVM compiles its indexing code during the first loads (the first 10,000
            # documents went at ~800 docs/s, the next at ~1,250): measured once, as its own
            # row, so the rows after it show the node a server runs, warmed up.
            ("opensearch", "bulk-cold", big),
            ("opensearch", "pipeline", big),
            ("opensearch", "bulk", big),
            ("opensearch", "engine", big),
        ]
    if args.ways:
        # The cold load comes with any OpenSearch way: it warms the node for the others.
        chosen = set(args.ways) | ({"bulk-cold"} if url else set())
        plan = [step for step in plan if step[1] in chosen]
    chars = sum(len(json.loads(line)["text"]) for line in big.open(encoding="utf-8"))
    print(f"corpus: {args.docs} documents of {chars / args.docs:,.0f} characters on average")

    rows = []
    try:
        for engine, way, corpus in plan:
            rates, cpu_rates, rss, anon = [], [], [], []
            documents = indexed = 0.0
            for _ in range(1 if way == "bulk-cold" else args.runs):
                result = run_child(way, engine, corpus, url)
                rates.append(result["documents"] / result["seconds"])
                cpu_rates.append(result["documents"] / result["cpu_seconds"])
                rss.append(result["rss_mb"])
                anon.append(result["anon_mb"])
                documents, indexed = result["documents"], result["indexed"]
            rows.append(
                (
                    engine,
                    WAYS[way],
                    f"{int(documents):,}",
                    f"{int(indexed):,}",
                    summary(rates),
                    summary(cpu_rates) + ("*" if way.startswith("cli") else ""),
                    summary(anon),
                    summary(rss),
                )
            )
            print(rows[-1], file=sys.stderr, flush=True)
    finally:
        if node is not None:
            node.stop()
    print_table(
        (
            "engine",
            "way",
            "documents",
            "indexed",
            "docs/s (wall)",
            "docs/CPU-s",
            "peak anon MB",
            "peak RSS MB",
        ),
        rows,
    )
    print(
        f"(median [min-max] over {args.runs} runs, each in a fresh process. docs/CPU-s: "
        "documents per second of CPU used by the ingest process, its engine threads and its "
        "analysis workers (* the CLI's analysis and enrichment workers are not counted), i.e. "
        "what one core would do "
        "with the machine to itself; x2 is the ceiling on this 2-core machine. Peak anon(ymous "
        "memory) and peak RSS are the ingest process's; RSS adds the mapped index files; each "
        "analysis worker adds ~100 MB, each enrichment worker ~190 MB.)"
    )


if __name__ == "__main__":
    main()
