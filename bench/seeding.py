"""Quality of seeded compilations on real labelled texts (msga_messages.dev.jsonl: citizen
messages labelled with a topic domain).

For each label, a compilation is seeded from a few everyday words for that domain (chosen
without looking at the data) and its first N proposals are scored against the label:
precision@N. Baseline, same run and same index: the plain search for the same words
(`SearchService.search`, one query, top N). Label sizes bound what recall is possible.

    python -m bench.seeding --n 50
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from bench._common import print_table, shared_data

SEEDS = {
    "交通": ["交通", "公交", "停车"],
    "教育": ["学校", "入学", "教育"],
    "就业": ["就业", "招聘", "失业"],
    "医疗": ["医院", "医保", "看病"],
    "环保": ["污染", "噪音", "环保"],
    "三农": ["农村", "农民", "村民"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=50, help="Proposals scored per label.")
    args = parser.parse_args()

    from analysis.analyzer import DocumentAnalyzer
    from analysis.tokenizer import GovTokenizer
    from compilations.seeding import seed_compilation
    from compilations.service import CompilationService
    from engines import make_backend
    from gongkai.database import create_database_engine
    from gongkai.document import Document
    from gongkai.pipeline import IngestPipeline
    from gongkai.settings import Settings
    from search_api.service import SearchService

    path = shared_data() / "msga_messages.dev.jsonl"
    with path.open(encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines if line.strip()]
    labels = {r["id"]: r["label"] for r in records}
    docs = [Document(id=r["id"], title=r.get("title") or "", body=r["text"]) for r in records]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        tokenizer = GovTokenizer()
        backend = make_backend(settings)
        IngestPipeline(DocumentAnalyzer(tokenizer), backend).run(docs)
        engine = create_database_engine(settings)
        service = CompilationService(engine, backend)
        search = SearchService(backend, tokenizer)
        rows = []
        for label, words in SEEDS.items():
            size = sum(1 for v in labels.values() if v == label)
            seeded = seed_compilation(service, search, "bench", label, words, limit=args.n)
            plain = search.search(" ".join(words), limit=args.n).hits
            ours = sum(labels[i] == label for i in seeded.proposed) / max(len(seeded.proposed), 1)
            base = sum(labels[h.id] == label for h in plain) / max(len(plain), 1)
            rows.append([label, size, " ".join(words), f"{ours:.2f}", f"{base:.2f}"])
        print_table(
            ["label", "size", "seed words", f"seeded P@{args.n}", f"plain search P@{args.n}"],
            rows,
        )
        backend.close()
        engine.dispose()


if __name__ == "__main__":
    main()
