"""The native one-pass search (``engines.tantivy_passes.OnePass``) answers exactly as tantivy's
Python binding does (``TwoPasses``): the same hits with the same scores, the same totals,
facets and cursors, on one index read both ways."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from analysis.analyzer import DocumentAnalyzer
from analysis.synonyms import Thesaurus
from analysis.tokenizer import GovTokenizer
from engines.base import Clause, EngineError, Match, SearchQuery
from engines.tantivy_backend import TantivyBackend
from engines.tantivy_passes import NATIVE_SEARCH, OnePass, TwoPasses
from gongkai.document import DocNumber, Document, Topic, Validity
from search_api.queries import build_search_query

pytestmark = pytest.mark.skipif(
    not NATIVE_SEARCH, reason="native extension not built here (pip install ./native)"
)

FACETS = ["agency", "doc_type", "validity", "topic_top", "region"]
WORDS = [
    "最低生活保障",
    "低保",
    "住房",
    "公积金",
    "贷款",
    "拆迁",
    "补偿",
    "征收",
    "医保",
    "报销",
    "养老",
    "保险",
    "救助",
    "标准",
    "调整",
    "通知",
]


def synthetic_docs(n: int, seed: int = 5) -> list[Document]:
    """Documents with every filterable field varied, and many exact ties (short bodies drawn
    from a small vocabulary, dates shared by many)."""
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        words = rng.sample(WORDS, rng.randint(1, 4))
        docs.append(
            Document(
                id=f"doc-{i:04d}",
                title="关于" + "".join(words[:2]) + "的通知",
                body="，".join(words * rng.randint(1, 3)) + "。",
                agency=rng.sample(
                    ["市民政局", "市财政局", "市住建局", "市医保局"], rng.randint(1, 2)
                ),
                doc_type=rng.choice(["通知", "意见", "办法", None]),
                validity=Validity(status=rng.choice(["有效", "废止", "失效", "unknown"])),
                topic=Topic(top=rng.choice(["民政", "住房", "医疗"]), sub=None),
                region=rng.choice(["北京", "上海", None]),
                doc_number=DocNumber(raw=f"京民发〔{2010 + i % 12}〕{i % 7}号")
                if i % 5 == 0
                else None,
                date_published=date(2010 + i % 12, 1 + i % 12, 1 + i % 3) if i % 9 else None,
            )
        )
    return docs


def add(backend: TantivyBackend, docs: list[Document], tokenizer: GovTokenizer) -> None:
    """Analyse ``docs``, index them and commit (the index is created first if need be)."""
    backend.ensure_index()
    backend.index(DocumentAnalyzer(tokenizer).analyze_many(docs))
    backend.refresh()


@pytest.fixture(scope="module")
def tokenizer() -> GovTokenizer:
    return GovTokenizer()


@pytest.fixture(scope="module")
def synthetic_index(tmp_path_factory: pytest.TempPathFactory, tokenizer: GovTokenizer) -> Path:
    folder = tmp_path_factory.mktemp("passes")
    backend = TantivyBackend(folder)
    add(backend, synthetic_docs(400), tokenizer)
    backend.close()
    return folder


def both_ways(folder: Path) -> Iterator[tuple[TantivyBackend, TantivyBackend]]:
    one, two = TantivyBackend(folder), TantivyBackend(folder, one_pass=False)
    try:
        yield one, two
    finally:
        one.close()
        two.close()


@pytest.fixture
def backends(synthetic_index: Path) -> Iterator[tuple[TantivyBackend, TantivyBackend]]:
    yield from both_ways(synthetic_index)


def queries(tokenizer: GovTokenizer) -> list[SearchQuery]:
    thesaurus = Thesaurus()
    variants: list[dict[str, Any]] = [
        {"facets": FACETS},
        {"filters": {"validity": ["有效"]}, "facets": ["agency"]},
        {"sort": "newest", "year_from": 2012, "year_to": 2018},
    ]
    built = [
        build_search_query(text, tokenizer, thesaurus, limit=limit, offset=offset, **extra)
        for text in [
            "低保标准调整",
            "住房公积金贷款",
            "拆迁补偿",
            "医保",
            "京民发〔2011〕1号",
            "救助 -医保",
        ]
        for limit, offset in [(10, 0), (5, 7)]
        for extra in variants
    ]
    phrase = Clause(
        occur="must",
        fields=["title", "body"],
        matches=[Match(kind="phrase", values=["住房", "房公", "公积"])],
    )
    return [
        *built,
        SearchQuery(facets=FACETS, limit=20),  # filters only: every document
        SearchQuery(terms=["低保"], clauses=[phrase], in_force_boost=2.0, limit=10),
        SearchQuery(terms=["救助"], in_force_boost=0.5, facets=["validity"], limit=15),
    ]


def test_one_pass_answers_as_the_binding_does(
    backends: tuple[TantivyBackend, TantivyBackend], tokenizer: GovTokenizer
) -> None:
    one, two = backends
    asked = queries(tokenizer)
    for query in asked:
        first, second = one.search(query), two.search(query)
        assert first == second, query
    # The comparison is not empty: hits, ties broken by id, facets with counts.
    answers = [one.search(q) for q in asked]
    assert sum(len(a.hits) for a in answers) > 200
    assert any(len({h.score for h in a.hits}) < len(a.hits) for a in answers)
    assert any(a.facets.get("agency") for a in answers)


def test_pages_followed_by_cursor_match_from_first_to_last(
    backends: tuple[TantivyBackend, TantivyBackend], tokenizer: GovTokenizer
) -> None:
    one, two = backends
    for sort in ["relevance", "newest"]:
        query = build_search_query("低保 救助 住房", tokenizer, limit=25, sort=sort)
        seen: list[str] = []
        while True:
            first, second = one.search(query), two.search(query)
            assert first == second
            if not first.hits:
                break
            seen += [h.id for h in first.hits]
            query = query.model_copy(update={"search_after": first.hits[-1].sort_values})
        assert (
            len(seen)
            == len(set(seen))
            == one.search(query.model_copy(update={"search_after": None})).total
        )


def test_the_default_backend_searches_in_one_pass_and_sees_new_commits(
    tmp_path: Path, tokenizer: GovTokenizer
) -> None:
    docs = synthetic_docs(60)
    backend = TantivyBackend(tmp_path)
    add(backend, docs[:30], tokenizer)
    query = SearchQuery(facets=["validity"], limit=100)
    assert isinstance(backend._search_pass({"bool": [["must", "all"]]}, None, None), OnePass)
    assert backend.search(query).total == 30
    add(backend, docs[30:], tokenizer)  # visible to the next search at once, in this process
    assert backend.search(query).total == 60
    # A rebuild swaps the live index: the native searcher follows it.
    backend.rebuild(DocumentAnalyzer(tokenizer).analyze_many(docs[:10]))
    result = backend.search(query)
    assert result.total == 10
    assert sum(f.count for f in result.facets["validity"]) == 10
    backend.close()
    off = TantivyBackend(tmp_path, one_pass=False)
    assert isinstance(off._search_pass({"bool": [["must", "all"]]}, None, None), TwoPasses)
    off.close()


@pytest.mark.parametrize("one_pass", [True, False], ids=["one-pass", "binding"])
def test_a_reader_sees_another_writers_commit(
    tmp_path: Path, tokenizer: GovTokenizer, one_pass: bool
) -> None:
    # A server and a `gongkai ingest` are two backends on one folder: the server's reader
    # picks up the ingest's commits by itself (tantivy reloads on commit, after a short
    # delay), whichever way it searches.
    docs = synthetic_docs(40)
    writer = TantivyBackend(tmp_path)
    add(writer, docs[:20], tokenizer)
    reader = TantivyBackend(tmp_path, one_pass=one_pass)
    query = SearchQuery(facets=["validity"], limit=5)
    assert reader.search(query).total == 20
    add(writer, docs[20:], tokenizer)
    seen = [reader.search(query)]
    for _ in range(200):  # at most ~10 s; ~0.5 s here
        if seen[-1].total == 40:
            break
        time.sleep(0.05)
        seen.append(reader.search(query))
    assert seen[-1].total == 40
    assert sum(f.count for f in seen[-1].facets["validity"]) == 40
    writer.close()
    reader.close()


def test_a_malformed_query_tree_is_a_clear_error(
    backends: tuple[TantivyBackend, TantivyBackend],
) -> None:
    one, _ = backends
    with pytest.raises(ValueError, match="unknown field: nonexistent"):
        one._search_pass({"term": ["nonexistent", "x"]}, None, None).top(5)
    with pytest.raises(ValueError, match="query"):
        one._search_pass({"bogus": []}, None, None).top(5)
    with pytest.raises(EngineError, match="unknown filter field"):
        one.search(SearchQuery(terms=["低保"], filters={"nonexistent": ["x"]}))


def test_real_laws_and_questions_answer_alike(
    shared_data: Path,
    lawrefbook: list[Document],
    tokenizer: GovTokenizer,
    tmp_path: Path,
) -> None:
    backend = TantivyBackend(tmp_path)
    add(backend, lawrefbook, tokenizer)
    backend.close()
    with (shared_data / "msga_govqa.dev.jsonl").open(encoding="utf-8") as handle:
        questions = [json.loads(line)["text"] for line in handle if line.strip()][:150]
    thesaurus = Thesaurus()
    for one, two in both_ways(tmp_path):
        hits = 0
        for i, text in enumerate(questions):
            # These records carry no catalogue fields to filter on (the synthetic index
            # above covers filters); every third question is sorted by date instead.
            sort = "newest" if i % 3 == 1 else "relevance"
            query = build_search_query(
                text, tokenizer, thesaurus, limit=10, sort=sort, facets=FACETS
            )
            first = one.search(query)
            assert first == two.search(query), text
            hits += len(first.hits)
        assert hits == 10 * len(questions)  # every question fills its page
