"""Analysis throughput: characters per second of CPU on one core, and of wall time on all
cores, the project's analysis beside plain jieba in the same run.

Corpus: documents of ~2,000 characters resampled from the real lawrefbook texts
(`bench._common.synthetic_records`). Rows:

  jieba.lcut                     baseline: jieba's default mode, one core
  jieba search mode, HMM off     the reference the project's segmentation must equal
  project segment                rjieba, the same mode (tokens checked identical to the row above)
  project tokens                 + normalisation, stop words, punctuation, 4+ char inner words
  project analysis               + character bigrams for title and body (what is indexed)
  project analysis, N processes  `gongkai.parallel.ParallelAnalyzer`, wall clock, all cores

The project rows come twice: the pure-Python path (``GovTokenizer(use_native=False)``, rjieba
plus numpy) and the native analyser (``native/``, one Rust call per document, what ingest uses
when ``gongkai_native`` is installed); the native output is checked equal to the Python path's
on every document of the corpus. The process-pool row is the Python path's only: with the
native analyser `ParallelAnalyzer` stays in the calling thread (gongkai/parallel.py).

Per-core rates use the process's CPU time, so other tenants of a shared machine do not lower
them; the pool rows are wall time (they are meant to use several cores).

    python bench/analysis_speed.py [--runs 5] [--docs 2000]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import print_table, summary, synthetic_records
from gongkai.document import Document


def cpu_rate(texts: list[str], work: Callable[[str], object]) -> float:
    """Characters per CPU-second of ``work`` over ``texts``."""
    chars = sum(map(len, texts))
    started = time.process_time()
    for text in texts:
        work(text)
    return chars / (time.process_time() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument(
        "--baseline-docs", type=int, default=300, help="jieba is slow: it runs on a prefix"
    )
    parser.add_argument("--workers", type=int, default=0, help="0: one per core")
    args = parser.parse_args()

    from analysis.analyzer import DocumentAnalyzer
    from analysis.tokenizer import GovTokenizer, normalise, reference_jieba
    from gongkai.parallel import ParallelAnalyzer, default_workers

    records = list(synthetic_records(args.docs))
    docs = [Document(id=str(r["id"]), title=str(r["title"]), body=str(r["text"])) for r in records]
    texts = [d.body for d in docs]
    few = texts[: args.baseline_docs]
    chars = sum(map(len, texts))
    print(
        f"corpus: {len(docs)} documents resampled from lawrefbook, {chars / 1e6:.1f} M chars "
        f"(jieba rows on the first {len(few)})"
    )

    tokenizer = GovTokenizer(use_native=False)  # the pure-Python path
    analyzer = DocumentAnalyzer(tokenizer)
    fast = GovTokenizer()  # native when gongkai_native is installed
    fast_analyzer = DocumentAnalyzer(fast)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # jieba's import warns (pkg_resources)
        import jieba

        plain = jieba.Tokenizer()
        plain.initialize()
        reference = reference_jieba()

    # The claim the speed rests on: the fast path gives jieba's tokens for the mode used.
    differ = [
        i
        for i, text in enumerate(few)
        if tokenizer.segment(text) != reference.lcut_for_search(normalise(text), HMM=False)  # type: ignore[attr-defined]
    ]

    def whole(text: str) -> object:
        return analyzer.analyze_text("", text, True)

    def whole_native(text: str) -> object:
        return fast_analyzer.analyze_text("", text, True)

    per_core: dict[str, tuple[list[str], Callable[[str], object]]] = {
        "jieba.lcut (baseline)": (few, plain.lcut),
        "jieba search mode, HMM off": (
            few,
            lambda t: reference.lcut_for_search(normalise(t), HMM=False),  # type: ignore[attr-defined]
        ),
        "project segment (rjieba)": (texts, tokenizer.segment),
        # What ingest runs: normalised once, tokens joined by spaces (the indexed form).
        "project tokens, Python path": (texts, lambda t: tokenizer.token_text(normalise(t))),
        "project analysis (tokens+bigrams), Python path": (texts, whole),
    }
    workers = args.workers or default_workers()
    pool_name = f"project analysis, {workers} processes, Python path"
    if fast.native is not None:
        per_core["project tokens, native"] = (texts, lambda t: fast.token_text(normalise(t)))
        per_core["project analysis (tokens+bigrams), native"] = (texts, whole_native)
        same = sum(
            fast_analyzer.analyze_text(d.title, d.body, False)
            == analyzer.analyze_text(d.title, d.body, False)
            for d in docs
        )
        native_note = f"; native analysis == Python path on {same}/{len(docs)} documents"
    else:
        native_note = "; native rows absent: gongkai_native is not installed (pip install ./native)"
    rates: dict[str, list[float]] = {name: [] for name in [*per_core, pool_name]}
    with ParallelAnalyzer(tokenizer, workers) as pool:
        pool.analyze_many(docs[:64])  # start the workers outside the timing
        for _ in range(args.runs):
            for name, (sample, work) in per_core.items():
                rates[name].append(cpu_rate(sample, work))
            started = time.perf_counter()
            pool.analyze_many(docs)
            rates[pool_name].append(chars / (time.perf_counter() - started))

    base = rates["jieba.lcut (baseline)"]
    rows = []
    for name, runs in rates.items():
        clock = "wall, all cores" if name == pool_name else "CPU, one core"
        speedup = sorted(runs)[len(runs) // 2] / sorted(base)[len(base) // 2]
        rows.append((name, clock, summary([r / 1e6 for r in runs]), f"{speedup:.1f}x"))
    print_table(("analysis", "clock", "M chars/s", "vs jieba.lcut"), rows)
    print(
        f"(median [min-max] over {args.runs} runs; project segment == jieba search mode HMM "
        f"off on {len(few) - len(differ)}/{len(few)} documents{native_note})"
    )


if __name__ == "__main__":
    main()
