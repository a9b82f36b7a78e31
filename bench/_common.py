"""Shared helpers for the benchmark scripts: real-data location and robust summaries."""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gongkai.settings import Settings

REPO = Path(__file__).resolve().parents[1]


def shared_data() -> Path:
    path = Path(os.environ.get("GONGKAI_SHARED_DATA", REPO.parent / "shared" / "data"))
    if not (path / "README.md").exists():
        sys.exit(f"real data not found at {path}: set GONGKAI_SHARED_DATA")
    return path


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]


def summary(runs: Sequence[float]) -> str:
    """median [min-max] of several runs."""
    return f"{statistics.median(runs):,.1f} [{min(runs):,.1f}-{max(runs):,.1f}]"


def median(runs: Sequence[float]) -> float:
    return statistics.median(runs)


def print_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Left-aligned columns, one row a line."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def status_kb(field: str) -> int:
    """One memory figure of this process from /proc/self/status (VmRSS, RssAnon, ...), KiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    return 0


class AnonymousPeak:
    """The peak of this process's anonymous memory (RssAnon: its own heap, not mapped files),
    sampled on a thread every ``interval`` seconds from now until `stop` (Linux)."""

    def __init__(self, interval: float = 0.05) -> None:
        import threading

        self._peak_kb = status_kb("RssAnon")
        self._stopped = threading.Event()
        self._interval = interval
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stopped.wait(self._interval):
            self._peak_kb = max(self._peak_kb, status_kb("RssAnon"))

    def stop(self) -> float:
        """Stop sampling; the peak in MB."""
        self._stopped.set()
        self._thread.join()
        return max(self._peak_kb, status_kb("RssAnon")) / 1024


# Fields copied from a lawrefbook record to every document cut from it: they give the filters
# and facets something real to count.
_KEPT = ("level", "province", "ministry", "label", "publish_date")


def lawrefbook_records() -> list[dict[str, object]]:
    import json

    with (shared_data() / "lawrefbook.dev.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _agency(law: dict[str, object]) -> str:
    level = str(law.get("level") or "")
    if law.get("ministry"):
        return str(law["ministry"])
    if law.get("province"):
        return f"{law['province']}人民代表大会常务委员会"
    return {"行政法规": "国务院", "司法解释": "最高人民法院"}.get(level, "全国人民代表大会")


def synthetic_records(n: int, chars: int = 2000, seed: int = 7) -> Iterator[dict[str, object]]:
    """``n`` documents of ~``chars`` characters resampled from the real lawrefbook texts: each
    joins a cut from one law to a cut from another (so near-duplicate detection sees distinct
    documents), keeps the first law's title and metadata (agency, type, region, date)."""
    import random

    rng = random.Random(seed)
    laws = [r for r in lawrefbook_records() if len(str(r.get("text") or "")) >= chars // 2]
    half = chars // 2
    for i in range(n):
        first, second = rng.choice(laws), rng.choice(laws)
        parts = []
        for law in (first, second):
            text = str(law["text"])
            start = rng.randrange(0, max(1, len(text) - half))
            parts.append(text[start : start + half])
        record: dict[str, object] = {
            "id": f"bench-{seed}-{i:07d}",
            "title": f"{first['title']}（节选{i % 97 + 1}）",
            "text": "\n".join(parts),
            "agency": _agency(first),
            "doc_type": first.get("level"),
            "region": first.get("province") or "全国",
        }
        for key in _KEPT:
            if first.get(key) is not None and key not in ("ministry", "province"):
                record[key] = first[key]
        yield record


def write_corpus(path: Path, n: int, chars: int = 2000, seed: int = 7) -> Path:
    """The synthetic corpus as JSONL (reused when a file of that name exists)."""
    import json

    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        with partial.open("w", encoding="utf-8") as handle:
            for record in synthetic_records(n, chars, seed):
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        partial.rename(path)
    return path


def corpus_path(n: int, chars: int = 2000) -> Path:
    """Where the corpus of ``n`` documents is cached between runs (outside the repository)."""
    import tempfile

    return Path(tempfile.gettempdir()) / "gongkai-bench" / f"corpus-{n}-{chars}.jsonl"


def built_index(n: int, engine: str = "embedded", url: str | None = None) -> Path:
    """A data folder holding an embedded index of ``n`` synthetic documents, built once with
    the project's ingest pipeline (all cores, no enrichment) and reused by later runs.
    With ``engine="opensearch"`` the documents are bulk-loaded into the node at ``url`` under
    the index name ``gongkai-bench-<n>`` (also reused)."""
    import tempfile

    from analysis.tokenizer import GovTokenizer
    from engines import make_backend
    from gongkai.parallel import ParallelAnalyzer
    from gongkai.pipeline import IngestPipeline
    from gongkai.settings import Settings
    from ingest.manager import read_sources

    folder = Path(tempfile.gettempdir()) / "gongkai-bench" / f"index-{n}"
    settings = index_settings(folder, engine, url, n)
    backend = make_backend(settings)
    if (folder / "complete").exists() or engine != "embedded":
        try:
            if backend.count() >= n:
                backend.close()
                return folder
        except Exception:
            pass
    corpus = write_corpus(corpus_path(n), n)
    print(f"building a {n:,}-document {engine} index (once) ...", file=sys.stderr, flush=True)
    with ParallelAnalyzer(GovTokenizer()) as analyzer:
        IngestPipeline(analyzer, backend, Settings().batch_size).run(
            read_sources([corpus], settings)
        )
    backend.close()
    if engine == "embedded":
        (folder / "complete").write_text(str(n))
    return folder


def index_settings(folder: Path, engine: str, url: str | None, n: int) -> Settings:
    from gongkai.settings import Settings

    if engine == "embedded":
        return Settings(data_dir=folder, rate_limit_search="")
    return Settings(
        data_dir=folder,
        engine="opensearch",
        engine_url=url or "",
        index_name=f"gongkai-bench-{n}",
        rate_limit_search="",
    )
