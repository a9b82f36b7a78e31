"""Topic building benchmark: time and peak memory at 20k and 100k documents, the project's way
beside the plain way, plus incremental assignment of 1,000 new documents.

Corpus: documents of ~2 KB synthesised by resampling real texts from ../shared/data: 70% a
random ~900-character window of a lawrefbook law, 30% a whole msga citizen message (a seed per
run; the same documents for the project and the baseline).

  project   `gongkai topics build` in full: stream documents, pre-tokenise with the project
            tokeniser (GovTokenizer, rjieba), TF-IDF on tokens, SVD(100), (MiniBatch)KMeans,
            class-based TF-IDF labels, representatives, stable-id matching, store in SQLite
            and the model under data_dir
  baseline  scikit-learn's TfidfVectorizer with jieba.lcut inside, TruncatedSVD(100), KMeans;
            at 50k documents and more only the vectorising step (it alone takes minutes), or
            none with --skip-baseline
  assign    1,000 new documents into the 20k/100k build: load the model, tokenise, nearest
            topic, store (`gongkai topics assign`)

Each measurement runs in a fresh subprocess; peak memory is that process's maximum resident
set (``ru_maxrss``), worker processes (``--jobs 2``) reported beside it; CPU seconds (user +
system, children included) beside the wall clock, because on a busy shared machine the wall
clock mostly measures the other tenants. Medians over --runs with [min-max].

    python bench/topics.py [--sizes 20000 100000] [--runs 3] [--k 50] [--jobs 1]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import REPO, shared_data, summary

LAW_SHARE = 0.7
WINDOW = 900
RANDOM_STATE = 0
# From this size on the baseline only vectorises (DESIGN.md: ~120 s for 100k documents).
BASELINE_VECTORISE_ONLY_FROM = 50_000


def real_texts() -> tuple[list[str], list[str]]:
    data = shared_data()
    laws = [json.loads(line)["text"] for line in (data / "lawrefbook.dev.jsonl").open()]
    messages = [json.loads(line)["text"] for line in (data / "msga_messages.dev.jsonl").open()]
    return [t for t in laws if len(t) > WINDOW], messages


def synthetic_texts(n: int, seed: int) -> Iterator[tuple[str, str]]:
    """(title, body) pairs resampled from the real texts."""
    laws, messages = real_texts()
    rng = random.Random(seed)
    for _ in range(n):
        if rng.random() < LAW_SHARE:
            text = rng.choice(laws)
            start = rng.randrange(0, len(text) - WINDOW)
            body = text[start : start + WINDOW]
        else:
            body = rng.choice(messages)
        yield body[:20], body


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and its finished children: on a shared,
    busy machine it says what the work costs better than the wall clock."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def peak_mb() -> tuple[float, float]:
    """(this process, largest child) peak resident set in MB (Linux reports KB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


# -- workers (each in its own process) ----------------------------------------------------
def work_project(n: int, k: int, seed: int, jobs: int, data_dir: Path) -> dict[str, Any]:
    from datetime import date

    from analysis.tokenizer import GovTokenizer
    from compilations.topics.service import build_topics, models_dir
    from compilations.topics.store import TopicStore
    from gongkai.database import create_database_engine
    from gongkai.document import Document
    from gongkai.settings import Settings

    settings = Settings(data_dir=data_dir)
    store = TopicStore(create_database_engine(settings), models_dir(settings))
    tokenizer = GovTokenizer()
    marks: dict[str, float] = {}
    chars = [0]

    def docs() -> Iterator[Document]:
        for i, (title, body) in enumerate(synthetic_texts(n, seed)):
            chars[0] += len(body)
            yield Document(
                id=f"d{i}", title=title, body=body, date_published=date(2000 + i % 25, 1, 1)
            )

    started, cpu = time.perf_counter(), cpu_seconds()
    summary_ = build_topics(
        settings,
        store,
        docs(),
        tokenizer=tokenizer,
        k=k,
        n_jobs=jobs,
        on_stage=lambda stage: marks.setdefault(stage, time.perf_counter()),
    )
    done = time.perf_counter()
    own, children = peak_mb()
    return {
        "seconds": done - started,
        "cpu_s": cpu_seconds() - cpu,
        "tokenise_s": marks["clustering"] - started,
        "fit_s": marks["storing"] - marks["clustering"],
        "store_s": done - marks["storing"],
        "peak_mb": own,
        "worker_peak_mb": children,
        "topics": summary_.n_topics,
        "mean_chars": chars[0] / n,
    }


def work_assign(n_new: int, seed: int, data_dir: Path) -> dict[str, Any]:
    from analysis.tokenizer import GovTokenizer
    from compilations.topics.service import assign_documents, models_dir
    from compilations.topics.store import TopicStore
    from gongkai.database import create_database_engine
    from gongkai.document import Document
    from gongkai.settings import Settings

    settings = Settings(data_dir=data_dir)
    store = TopicStore(create_database_engine(settings), models_dir(settings))
    tokenizer = GovTokenizer()  # built before the clock: a server or CLI has it already
    docs = [
        Document(id=f"new{i}", title=t, body=b)
        for i, (t, b) in enumerate(synthetic_texts(n_new, seed))
    ]
    started, cpu = time.perf_counter(), cpu_seconds()
    model = store.load_model(store.current_build("all"))
    loaded = time.perf_counter()
    result = assign_documents(store, docs, tokenizer=tokenizer, model=model)
    done = time.perf_counter()
    return {
        "seconds": done - started,
        "cpu_s": cpu_seconds() - cpu,
        "load_s": loaded - started,
        "assign_s": done - loaded,
        "added": result.added,
        "peak_mb": peak_mb()[0],
    }


def work_baseline(n: int, k: int, seed: int, vectorise_only: bool) -> dict[str, Any]:
    import jieba
    from sklearn.cluster import KMeans, MiniBatchKMeans
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from threadpoolctl import threadpool_limits

    texts = [f"{t}\n{b}" for t, b in synthetic_texts(n, seed)]
    segmenter = jieba.Tokenizer()
    segmenter.initialize()  # dictionary load outside the clock, as for the project
    started, cpu = time.perf_counter(), cpu_seconds()
    matrix = TfidfVectorizer(tokenizer=segmenter.lcut, token_pattern=None).fit_transform(texts)
    vectorised = time.perf_counter()
    if not vectorise_only:
        with threadpool_limits(limits=1, user_api="blas"):
            reduced = TruncatedSVD(100, random_state=RANDOM_STATE).fit_transform(matrix)
            model = MiniBatchKMeans if n >= BASELINE_VECTORISE_ONLY_FROM else KMeans
            model(n_clusters=k, random_state=RANDOM_STATE).fit(reduced)
    done = time.perf_counter()
    return {
        "seconds": done - started,
        "cpu_s": cpu_seconds() - cpu,
        "vectorise_s": vectorised - started,
        "peak_mb": peak_mb()[0],
        "vectorise_only": vectorise_only,
    }


# -- driver -------------------------------------------------------------------------------
def run_worker(*args: str) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", *args]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=False)
    if done.returncode != 0:
        sys.exit(f"worker {args} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def row(name: str, runs: list[dict[str, Any]], keys: list[str]) -> str:
    cells = [f"{summary([r[key] for r in runs]):>24}" for key in keys]
    return f"{name:<34}" + "".join(cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=1, help="tokenising processes (project)")
    parser.add_argument("--new", type=int, default=1000, help="documents assigned afterwards")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        kind, *rest = args.worker
        if kind == "project":
            n, k, seed, jobs, data_dir = rest
            out = work_project(int(n), int(k), int(seed), int(jobs), Path(data_dir))
        elif kind == "assign":
            n_new, seed, data_dir = rest
            out = work_assign(int(n_new), int(seed), Path(data_dir))
        else:
            n, k, seed, only = rest
            out = work_baseline(int(n), int(k), int(seed), only == "1")
        print(json.dumps(out))
        return

    for n in args.sizes:
        project, assign, baseline = [], [], []
        for run in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="gongkai-bench-topics-") as tmp:
                project.append(
                    run_worker("project", str(n), str(args.k), str(run), str(args.jobs), tmp)
                )
                assign.append(run_worker("assign", str(args.new), str(1000 + run), tmp))
            if not args.skip_baseline:
                only = "1" if n >= BASELINE_VECTORISE_ONLY_FROM else "0"
                baseline.append(run_worker("baseline", str(n), str(args.k), str(run), only))
        chars = project[0]["mean_chars"]
        print(
            f"\n{n:,} documents (mean {chars:,.0f} characters), k={args.k}, "
            f"{args.runs} run(s), tokenising processes: {args.jobs}"
        )
        print(f"{'':<34}{'seconds':>24}{'peak MB':>24}{'CPU seconds':>24}")
        print(row("project topics build", project, ["seconds", "peak_mb", "cpu_s"]))
        print(row("  of which tokenise / fit", project, ["tokenise_s", "fit_s"]))
        print(row("  of which store (seconds)", project, ["store_s"]))
        if args.jobs > 1:
            print(row("  tokenising worker peak MB", project, ["worker_peak_mb"]))
        if baseline:
            what = "vectorise only" if baseline[0]["vectorise_only"] else "vectorise+SVD+KMeans"
            print(
                row(f"baseline jieba in TF-IDF ({what})", baseline, ["seconds", "peak_mb", "cpu_s"])
            )
        print(row(f"assign {args.new:,} new documents", assign, ["seconds", "peak_mb", "cpu_s"]))
        print(row("  of which load model / assign", assign, ["load_s", "assign_s"]))


if __name__ == "__main__":
    main()
