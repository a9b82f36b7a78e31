"""Tests for ``gongkai.enrichment_pool``: the text stages on worker processes give what they
give in process, in order, and the duplicate finder gets the signatures it would compute."""

from __future__ import annotations

import os
import signal
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

import pytest

from analysis.analyzer import DocumentAnalyzer, analysis_key
from analysis.dedup import NearDuplicateFinder
from analysis.tokenizer import GovTokenizer, char_bigrams
from engines.base import SearchQuery
from engines.tantivy_backend import TantivyBackend
from gongkai.document import Attachment, Document, content_hash
from gongkai.enrichment import DuplicateStage, run_stages
from gongkai.enrichment_pool import MIN_PARALLEL, EnrichmentPool, text_stages
from gongkai.parallel import ParallelAnalyzer
from gongkai.pipeline import IngestPipeline
from gongkai.settings import Settings
from ingest.manager import read_sources

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "sample_docs.jsonl"
TODAY = date(2026, 11, 27)


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> list[Document]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"))
    docs = [item for item in read_sources([SAMPLES], settings) if isinstance(item, Document)]
    assert len(docs) >= 30
    return docs


def many(samples: list[Document], copies: int) -> list[Document]:
    """The samples ``copies`` times over under new ids: reprints (the finder's work), every
    second copy with its body changed a little (near reprints, not exact ones)."""
    copied = []
    for n in range(copies):
        for doc in samples:
            body = doc.body + "。另附说明。" * (n % 2)
            digest = content_hash(doc.title, body)
            update = {"id": f"{doc.id}-{n}", "body": body, "content_hash": digest}
            copied.append(doc.model_copy(update=update))
    return copied


@pytest.mark.parametrize("preanalysing", [False, True], ids=["stages", "stages+analysis"])
def test_workers_give_the_in_process_result_in_order(
    samples: list[Document], tokenizer: GovTokenizer, preanalysing: bool
) -> None:
    docs = many(samples, 3)
    assert len(docs) >= MIN_PARALLEL
    expected = [run_stages(text_stages(TODAY, tokenizer), doc) for doc in docs]
    # The stages do fill fields in (or the test would compare documents with themselves).
    assert sum(e.subject_words != d.subject_words for e, d in zip(expected, docs, strict=True)) > 10
    items: list[object] = list(docs)
    items.insert(5, "bad.jsonl:3: not JSON")  # a reader's problem passes through, in place
    # With an analyser to hand analyses to, the workers read the keywords' tokens off them.
    analyzer = DocumentAnalyzer(tokenizer) if preanalysing else None
    with EnrichmentPool(TODAY, tokenizer, workers=2, preanalyse=analyzer) as pool:
        pool.start(wait=True)
        enriched = pool.submit(items)()
        assert pool._pool is not None  # the workers did the work
    assert enriched[5] == "bad.jsonl:3: not JSON"
    assert enriched[:5] + enriched[6:] == expected


def test_small_batches_stay_in_process(samples: list[Document], tokenizer: GovTokenizer) -> None:
    docs = samples[: MIN_PARALLEL - 1]
    with EnrichmentPool(TODAY, tokenizer, workers=2) as pool:
        enriched = pool.submit(docs)()
        assert pool._pool is None
    assert enriched == [run_stages(text_stages(TODAY, tokenizer), doc) for doc in docs]


def test_batches_before_a_worker_is_ready_stay_in_process(
    tmp_path: Path, samples: list[Document], tokenizer: GovTokenizer
) -> None:
    docs = many(samples, 2)
    assert len(docs) >= MIN_PARALLEL
    finder = NearDuplicateFinder(tmp_path / "dedup.sqlite")
    with EnrichmentPool(TODAY, tokenizer, presign=finder, workers=2) as pool:
        # The first large batch starts the workers (a process takes far longer to start
        # than this call) and is enriched here: no worker signed it.
        enriched = pool.submit(docs)()
        assert pool._pool is not None and not finder._presigned
        pool.start(wait=True)
        assert pool.submit(docs)() == enriched
        assert finder._presigned  # now the workers did
    finder.close()
    assert enriched == [run_stages(text_stages(TODAY, tokenizer), doc) for doc in docs]


def test_the_finder_gets_the_signatures_it_would_compute(
    tmp_path: Path, samples: list[Document], tokenizer: GovTokenizer
) -> None:
    docs = many(samples, 2)
    finder = NearDuplicateFinder(tmp_path / "dedup.sqlite")
    with EnrichmentPool(TODAY, tokenizer, presign=finder, workers=2) as pool:
        pool.start(wait=True)
        enriched = pool.submit(docs)()
    assert len(finder._presigned) == len({(d.title, d.body) for d in docs})
    for doc in enriched:
        assert isinstance(doc, Document)
        presigned = finder._presigned.get((doc.title, doc.body))
        assert presigned is not None
        assert (presigned == finder.signer.sign(doc)).all()
    for doc in enriched:
        assert isinstance(doc, Document)
        finder.add(doc)
    assert not finder._presigned  # each used once, none left behind
    finder.close()


def test_the_analyser_gets_the_analyses_it_would_compute(
    samples: list[Document], tokenizer: GovTokenizer
) -> None:
    docs = many(samples, 2)
    docs[0] = docs[0].model_copy(update={"attachments": [Attachment(name="附件", text="申请表")]})
    analyzer = DocumentAnalyzer(tokenizer)
    with EnrichmentPool(TODAY, tokenizer, workers=2, preanalyse=analyzer) as pool:
        pool.start(wait=True)
        enriched = pool.submit(docs)()
    assert len(analyzer._remembered) == len({analysis_key(d) for d in docs})
    fresh = DocumentAnalyzer(tokenizer)
    for doc in enriched:
        assert isinstance(doc, Document)
        assert analyzer._remembered[analysis_key(doc)] == fresh.analyze_text(*analysis_key(doc))
    first = enriched[0]
    assert isinstance(first, Document)
    assert "申请" in analyzer._remembered[analysis_key(first)][1]  # attachment text
    documents = [d for d in enriched if isinstance(d, Document)]
    assert [analyzer.analyze(d) for d in documents] == [fresh.analyze(d) for d in documents]
    assert not analyzer._remembered  # each used once, none left behind


def test_an_analyser_with_another_tokenizer_is_refused(tokenizer: GovTokenizer) -> None:
    # Its analyses would be made with the pool's tokeniser, not its own.
    other = DocumentAnalyzer(GovTokenizer(extra_terms=["某某专用词"]))
    with pytest.raises(ValueError, match="tokenizer"):
        EnrichmentPool(TODAY, tokenizer, preanalyse=other)


def test_a_pooled_ingest_indexes_what_an_in_process_one_does(
    tmp_path: Path, samples: list[Document], tokenizer: GovTokenizer
) -> None:
    docs = many(samples, 4)

    # What the index answers, not only what it stores: the analysis made on the workers is
    # what is searched.
    queries = [
        SearchQuery(terms=tokenizer.tokenize(doc.title), grams=char_bigrams(doc.title), limit=50)
        for doc in samples[:5]
    ]

    def ingest(
        folder: Path, pooled: bool
    ) -> tuple[list[str], list[Document], list[list[tuple[str, float]]]]:
        finder = NearDuplicateFinder(folder / "dedup.sqlite")
        backend = TantivyBackend(folder / "index")
        with (
            ParallelAnalyzer(tokenizer) as analyzer,
            EnrichmentPool(
                TODAY, tokenizer, presign=finder, workers=2, preanalyse=analyzer
            ) as pool,
        ):
            if pooled:
                pool.start(wait=True)
            in_process = [] if pooled else text_stages(TODAY, tokenizer)
            pipeline = IngestPipeline(
                analyzer,
                backend,
                batch_size=100,  # one batch on the workers, the last (60) in process
                stages=[*in_process, DuplicateStage(finder)],
                enrichment=pool if pooled else None,
            )
            report = pipeline.run(docs)
            assert (pool._pool is not None) == pooled
        indexed = sorted(backend.iter_documents(), key=lambda d: d.id)
        answers = [
            [(hit.id, round(hit.score, 4)) for hit in backend.search(query).hits]
            for query in queries
        ]
        assert all(answers)
        backend.close()
        finder.close()
        return report.problems, indexed, answers

    problems, indexed, answers = ingest(tmp_path / "pooled", pooled=True)
    assert (problems, indexed, answers) == ingest(tmp_path / "in-process", pooled=False)
    # Reprints were recognised (the signatures worked), originals were indexed.
    assert any("near duplicate of" in problem for problem in problems)
    assert any("exact duplicate of" in problem for problem in problems)
    assert len(samples) <= len(indexed) < len(docs)


def test_a_killed_worker_loses_nothing(
    samples: list[Document], tokenizer: GovTokenizer, caplog: pytest.LogCaptureFixture
) -> None:
    docs = many(samples, 3)
    expected = [run_stages(text_stages(TODAY, tokenizer), doc) for doc in docs]
    with EnrichmentPool(TODAY, tokenizer, workers=2) as pool:
        pool.start(wait=True)
        assert isinstance(pool._pool, ProcessPoolExecutor)
        pending = pool.submit(docs)
        victim = next(iter(pool._pool._processes.values()))  # as an out-of-memory kill would
        os.kill(victim.pid, signal.SIGKILL)
        victim.join(timeout=30)
        assert pending() == expected  # the batch is enriched here again
        assert pool.submit(docs)() == expected  # and so is the rest of the run
        assert pool.broken and "BrokenProcessPool" in pool.broken
        assert pool._pool is None
    assert "enrichment workers stopped" in caplog.text
