"""Cost of editing and reading large compilations (SQLite or GONGKAI_DATABASE_URL, embedded
index of the 1,403 lawrefbook laws).

For compilations of N documents: one ``add`` (a new version: the whole state is rewritten and
recorded), ``get`` with the missing check against the index (one ``backend.get`` per
document), and, as the baseline in the same run, ``get`` without an index (no missing check).

    python -m bench.compilation_edits --sizes 1000 10000 --runs 3
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench._common import print_table, shared_data, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from analysis.analyzer import DocumentAnalyzer
    from analysis.tokenizer import GovTokenizer
    from compilations.models import CompilationCreate
    from compilations.service import CompilationService
    from engines import make_backend
    from gongkai.database import create_database_engine
    from gongkai.document import Document
    from gongkai.pipeline import IngestPipeline
    from gongkai.settings import Settings
    from ingest.jsonl import JsonlIngestor

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        reader = JsonlIngestor(settings)
        path = shared_data() / "lawrefbook.dev.jsonl"
        docs = [d for d in reader.ingest(path) if isinstance(d, Document)]
        backend = make_backend(settings)
        IngestPipeline(DocumentAnalyzer(GovTokenizer()), backend).run(docs)
        engine = create_database_engine(settings)
        indexed = CompilationService(engine, backend)
        plain = CompilationService(engine, None)
        rows = []
        for size in args.sizes:
            # Real ids first, then ids the index does not have (they come out missing).
            ids = [d.id for d in docs][:size] + [f"gone-{i}" for i in range(size - len(docs))]
            cid = plain.create("bench", CompilationCreate(title=f"{size}")).id
            plain.add_documents(cid, "bench", ids[:-1])
            adds, gets, bare = [], [], []
            for run in range(args.runs):
                started = time.perf_counter()
                plain.add_documents(cid, "bench", [f"extra-{run}"])
                adds.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                indexed.get(cid)
                gets.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                plain.get(cid)
                bare.append((time.perf_counter() - started) * 1000)
            rows.append([size, summary(adds), summary(gets), summary(bare)])
        print_table(["documents", "add ms", "get ms (missing check)", "get ms (baseline)"], rows)
        backend.close()
        engine.dispose()


if __name__ == "__main__":
    main()
