"""The contract every search backend keeps, run against each real engine.

`backend` is parametrised in tests/conftest.py: the embedded tantivy index always, a real
OpenSearch node (started from Maven Central) for tests marked `engine`, and Elasticsearch when
GONGKAI_TEST_ELASTICSEARCH_URL names one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from analysis.tokenizer import GovTokenizer
from engines.base import Clause, Match, SearchBackend, SearchQuery
from gongkai.document import AnalyzedDocument, Document
from search_api.cursor import BadCursor
from search_api.queries import build_search_query
from search_api.rerank import RERANK_DEPTH
from search_api.service import SearchService

Make = Callable[..., AnalyzedDocument]


def ids(result_hits: list) -> list[str]:  # type: ignore[type-arg]
    return [h.id for h in result_hits]


def load(backend: SearchBackend, docs: list[AnalyzedDocument]) -> None:
    backend.ensure_index()
    backend.index(docs)
    backend.refresh()


def test_index_count_and_get_round_trip(backend: SearchBackend, make: Make) -> None:
    doc = make(
        "a",
        "关于调整最低生活保障标准的通知",
        "各区民政局：低保标准调整如下。",
        agency="示例市民政局、示例市财政局",
        extra_field={"kept": [1, 2]},
    )
    load(backend, [doc, make("b", "公积金", "住房公积金贷款")])
    assert backend.count() == 2
    got = backend.get("a")
    assert got == doc.document
    assert got is not None and got.extra_metadata == {"extra_field": {"kept": [1, 2]}}
    assert got.agency == ["示例市民政局", "示例市财政局"]
    assert backend.get("missing") is None


def test_get_many_answers_the_indexed_ones_in_one_call(backend: SearchBackend, make: Make) -> None:
    docs = [make(f"d{i}", f"标题{i}", "住房公积金贷款") for i in range(12)]
    load(backend, docs)
    backend.delete(["d3"])
    backend.refresh()
    asked = ["d11", "d3", "missing", "d0", "d7", "d0"]
    got = backend.get_many(asked)
    assert set(got) == {"d11", "d0", "d7"}
    assert all(got[i] == docs[int(i[1:])].document for i in got)
    assert backend.get_many([]) == {}


def test_a_huge_record_and_title_are_stored_whole(backend: SearchBackend, make: Make) -> None:
    # Over tantivy's and Lucene's 32 KB term limits: the stored record is not a term
    # (mapping v4) and the cluster's title keyword skips values that long (ignore_above).
    title = "关于" + "最低生活保障" * 3000 + "的通知"
    body = "低保标准调整如下。" + "正文" * 60_000
    doc = make("huge", title, body)
    load(backend, [doc, make("b", "公积金", "住房公积金贷款")])
    got = backend.get("huge")
    assert got is not None and got.title == title and got.body == body
    found = backend.search(SearchQuery(terms=["低保"], limit=5))
    assert ids(found.hits) == ["huge"]


def test_same_id_replaces_never_duplicates(backend: SearchBackend, make: Make) -> None:
    load(backend, [make("a", "旧标题", "养老金 发放")])
    load(backend, [make("a", "新标题", "养老金 调整")])
    assert backend.count() == 1
    got = backend.get("a")
    assert got is not None and got.title == "新标题"
    result = backend.search(SearchQuery(terms=["养老金"]))
    assert result.total == 1
    assert backend.search(SearchQuery(terms=["发放"])).total == 0


def test_bm25_prefers_more_and_title_matches(backend: SearchBackend, make: Make) -> None:
    load(
        backend,
        [
            make("once", "其他事项", "低保 一次 " + "填充 " * 30),
            make("often", "其他事项", "低保 低保 低保 多次 " + "填充 " * 30),
            make("title", "低保", "提到 一次 低保 " + "填充 " * 30),
            make("none", "无关", "公积金 " + "填充 " * 30),
        ],
    )
    query = SearchQuery(terms=["低保"], field_boosts={"title": 3.0, "body": 1.0})
    result = backend.search(query)
    assert result.total == 3
    assert ids(result.hits) == ["title", "often", "once"]
    assert all(h.score > 0 for h in result.hits)
    assert result.hits[0].score > result.hits[1].score > result.hits[2].score


def test_terms_are_ored_and_rarer_terms_weigh_more(backend: SearchBackend, make: Make) -> None:
    load(
        backend,
        [
            make("common1", "", "通知 征收"),
            make("common2", "", "通知 补偿"),
            make("rare", "", "通知 安置"),
            make("common3", "", "通知 征收 补偿"),
        ],
    )
    result = backend.search(SearchQuery(terms=["安置", "补偿"]))
    assert set(ids(result.hits)) == {"rare", "common2", "common3"}
    assert result.hits[0].id == "rare"  # 安置 occurs once in the index, 补偿 twice


def test_filters_combine_and_facets_count(backend: SearchBackend, make: Make) -> None:
    load(
        backend,
        [
            make(
                "a",
                "t",
                "补贴",
                agency="农业农村局",
                doc_type="通知",
                validity="有效",
                date_published=date(2020, 1, 2),
            ),
            make(
                "b",
                "t",
                "补贴",
                agency="农业农村局",
                doc_type="办法",
                validity="废止",
                date_published=date(2018, 5, 1),
            ),
            make(
                "c",
                "t",
                "补贴",
                agency="财政局",
                doc_type="通知",
                validity="有效",
                date_published=date(2022, 3, 3),
            ),
            make(
                "d",
                "t",
                "补贴",
                agency="农业农村局、财政局",
                doc_type="通知",
                validity="有效",
                date_published=date(2021, 7, 7),
            ),
        ],
    )
    base = SearchQuery(terms=["补贴"], facets=["agency", "doc_type", "validity"])
    everything = backend.search(base)
    assert everything.total == 4
    agency_counts = {f.value: f.count for f in everything.facets["agency"]}
    assert agency_counts == {"农业农村局": 3, "财政局": 2}

    narrowed = backend.search(
        base.model_copy(update={"filters": {"agency": ["农业农村局"], "doc_type": ["通知"]}})
    )
    assert set(ids(narrowed.hits)) == {"a", "d"}
    assert {f.value: f.count for f in narrowed.facets["validity"]} == {"有效": 2}

    years = backend.search(base.model_copy(update={"year_from": 2020, "year_to": 2021}))
    assert set(ids(years.hits)) == {"a", "d"}
    nothing = backend.search(base.model_copy(update={"filters": {"agency": ["不存在"]}}))
    assert nothing.total == 0 and nothing.hits == []


def test_sort_newest_and_paging(backend: SearchBackend, make: Make) -> None:
    days = [date(2019, 1, 1), date(2023, 1, 1), date(2021, 1, 1), date(2017, 1, 1), None]
    load(
        backend, [make(f"d{i}", "t", "医保 报销", date_published=day) for i, day in enumerate(days)]
    )
    newest = backend.search(SearchQuery(terms=["医保"], sort="newest", limit=10))
    assert ids(newest.hits) == ["d1", "d2", "d0", "d3", "d4"]
    page1 = backend.search(SearchQuery(terms=["医保"], sort="newest", limit=2))
    page2 = backend.search(SearchQuery(terms=["医保"], sort="newest", limit=2, offset=2))
    beyond = backend.search(SearchQuery(terms=["医保"], sort="newest", limit=2, offset=50))
    assert ids(page1.hits) + ids(page2.hits) == ids(newest.hits)[:4]
    assert page2.total == 5
    assert beyond.hits == [] and beyond.total == 5


def test_no_terms_matches_everything_filtered(backend: SearchBackend, make: Make) -> None:
    load(backend, [make("a", "t", "x", doc_type="通知"), make("b", "t", "y", doc_type="意见")])
    assert backend.search(SearchQuery()).total == 2
    only = backend.search(SearchQuery(filters={"doc_type": ["意见"]}))
    assert ids(only.hits) == ["b"]


def test_delete_removes(backend: SearchBackend, make: Make) -> None:
    load(backend, [make("a", "t", "就业 补贴"), make("b", "t", "就业 创业")])
    backend.delete(["a"])
    backend.refresh()
    assert backend.count() == 1
    assert backend.get("a") is None
    assert ids(backend.search(SearchQuery(terms=["就业"])).hits) == ["b"]


def test_rebuild_swaps_to_a_new_versioned_index(backend: SearchBackend, make: Make) -> None:
    load(backend, [make("old", "t", "拆迁 安置")])
    first = backend.health()["index"]
    name = backend.rebuild([make("new1", "t", "征收 补偿"), make("new2", "t", "征收 安置")])
    assert name != first
    assert backend.health()["index"] == name
    assert backend.count() == 2
    assert backend.get("old") is None
    assert ids(backend.search(SearchQuery(terms=["征收"], limit=5)).hits).count("new1") == 1


def test_hostile_text_is_stored_exactly(backend: SearchBackend, make: Make) -> None:
    title = '<script>alert("x")</script> 通知 & "引号" 𠀀'
    load(backend, [make("h", title, "正文\u0000之外 <b>粗体</b>".replace("\u0000", ""))])
    got = backend.get("h")
    assert got is not None and got.title == title
    assert backend.search(SearchQuery(terms=["通知"])).hits[0].document.title == title


def test_health_reports_engine_and_count(backend: SearchBackend, make: Make) -> None:
    load(backend, [make("a", "t", "x")])
    health = backend.health()
    assert health["engine"] == backend.name
    assert health["documents"] == 1


def phrase(text: str) -> Match:
    from analysis.tokenizer import char_bigrams

    return Match(kind="phrase", values=char_bigrams(text))


def test_phrase_must_and_must_not_clauses(backend: SearchBackend, make: Make) -> None:
    load(
        backend,
        [
            make("exact", "t", "国有土地上房屋征收与补偿条例"),
            make("apart", "t", "房屋 维修 与 征收 无关"),
            make("other", "t", "集体土地征收补偿"),
        ],
    )
    must = backend.search(SearchQuery(clauses=[Clause(matches=[phrase("房屋征收")])]))
    assert ids(must.hits) == ["exact"]
    without = backend.search(
        SearchQuery(terms=["征收"], clauses=[Clause(occur="must_not", matches=[phrase("房屋")])])
    )
    assert ids(without.hits) == ["other"]
    only_not = backend.search(
        SearchQuery(clauses=[Clause(occur="must_not", matches=[phrase("集体")])])
    )
    assert set(ids(only_not.hits)) == {"exact", "apart"}


def test_clause_alternatives_are_ored_and_fields_restrict(
    backend: SearchBackend, make: Make
) -> None:
    load(
        backend,
        [
            make("t1", "最低生活保障办法", "正文"),
            make("b1", "办法", "低保 申请"),
            make("none", "公积金", "正文"),
        ],
    )
    either = Clause(matches=[phrase("最低生活保障"), phrase("低保")])
    assert set(ids(backend.search(SearchQuery(clauses=[either])).hits)) == {"t1", "b1"}
    title_only = Clause(matches=[phrase("低保"), phrase("最低生活保障")], fields=["title"])
    assert ids(backend.search(SearchQuery(clauses=[title_only])).hits) == ["t1"]


def test_doc_number_match_ranks_that_document_first(backend: SearchBackend, make: Make) -> None:
    load(
        backend,
        [
            make(
                "cites",
                "关于落实国办发〔2013〕73号文件的通知",
                "根据 国办发 2013 73 号 文件 国办发 73",
            ),
            make("target", "办法", "正文", doc_number="国办发〔2013〕73号"),
        ],
    )
    query = SearchQuery(
        terms=["国办发", "2013", "73"],
        clauses=[
            Clause(
                occur="should",
                boost=50.0,
                matches=[Match(kind="doc_number", values=["国办发〔2013〕73号"])],
            )
        ],
    )
    assert ids(backend.search(query).hits)[0] == "target"


def test_bigram_scoring_finds_words_jieba_splits_differently(
    backend: SearchBackend, make: Make
) -> None:
    load(backend, [make("a", "t", "城乡居民养老保险"), make("b", "t", "住房公积金")])
    result = backend.search(SearchQuery(grams=["养老", "老保"]))
    assert ids(result.hits) == ["a"]


def test_in_force_boost_ranks_abolished_documents_last(backend: SearchBackend, make: Make) -> None:
    load(
        backend,
        [
            make("gone", "低保办法", "低保 标准 低保", validity="废止"),
            make("live", "办法", "低保 标准", validity="有效"),
            make("other", "办法", "公积金", validity="有效"),
        ],
    )
    plain = backend.search(SearchQuery(terms=["低保"]))
    assert ids(plain.hits) == ["gone", "live"]
    preferred = backend.search(SearchQuery(terms=["低保"], in_force_boost=20.0))
    assert ids(preferred.hits) == ["live", "gone"]  # still found, never hidden
    everything = backend.search(SearchQuery(in_force_boost=20.0))
    assert everything.total == 3


def test_title_suggestions_complete_a_prefix(backend: SearchBackend, make: Make) -> None:
    load(
        backend,
        [
            make("a", "关于调整最低生活保障标准的通知", "x"),
            make("b", "关于印发住房公积金管理办法的通知", "x"),
            make("c", "国有土地上房屋征收补偿办法", "x"),
        ],
    )
    assert backend.suggest_titles("关于") == [
        "关于印发住房公积金管理办法的通知",
        "关于调整最低生活保障标准的通知",
    ]
    assert backend.suggest_titles("关于", limit=1) in (["关于印发住房公积金管理办法的通知"],)
    assert backend.suggest_titles("没有") == []
    backend.delete(["c"])
    backend.refresh()
    assert backend.suggest_titles("国有") == []


def test_iter_documents_yields_every_live_document_once(backend: SearchBackend, make: Make) -> None:
    backend.ensure_index()
    assert list(backend.iter_documents()) == []
    docs = [make(f"d{i}", f"标题{i}", f"正文 低保 {i}") for i in range(7)]
    load(backend, docs)
    backend.delete(["d3"])
    backend.refresh()
    # A batch size that does not divide the count: the last, short page must come back too.
    got = list(backend.iter_documents(batch_size=2))
    assert sorted(d.id for d in got) == sorted(f"d{i}" for i in range(7) if i != 3)
    by_id = {d.id: d for d in got}
    assert by_id["d5"] == docs[5].document
    # Exactly a multiple of the batch size: no empty trailing page, no repeat.
    assert len(list(backend.iter_documents(batch_size=3))) == 6


def _paging_corpus(make: Make, n: int) -> list[AnalyzedDocument]:
    """``n`` matching documents in a few tie groups (same score, same date) and 5 others."""
    docs = [
        make(
            f"p{(i * 7919) % 1000:03d}",  # ids not in index order, so ties must be sorted
            "",
            "低保 " * (1 + i % 3) + "填充",
            date_published=date(2010 + i % 4, 1, 1) if i % 5 else None,
        )
        for i in range(n)
    ]
    return docs + [make(f"x{i}", "", "公积金") for i in range(5)]


def _walk(backend: SearchBackend, query: SearchQuery, size: int) -> list[str]:
    seen: list[str] = []
    after = None
    for _ in range(1000):  # bounded: a cursor that never ends fails the test
        page = backend.search(query.model_copy(update={"limit": size, "search_after": after}))
        seen += ids(page.hits)
        if len(page.hits) < size:
            return seen
        after = page.hits[-1].sort_values
    raise AssertionError("search_after never reached the end")


@pytest.mark.parametrize("sort", ["relevance", "newest"])
def test_search_after_walks_every_match_once_in_offset_order(
    backend: SearchBackend, make: Make, sort: str
) -> None:
    load(backend, _paging_corpus(make, 37))
    query = SearchQuery(terms=["低保"], sort=sort)  # type: ignore[arg-type]
    walked = _walk(backend, query, size=4)
    assert len(walked) == len(set(walked)) == 37
    by_offset = [
        h.id
        for start in range(0, 40, 4)
        for h in backend.search(query.model_copy(update={"offset": start, "limit": 4})).hits
    ]
    assert walked == by_offset == ids(backend.search(query.model_copy(update={"limit": 50})).hits)
    # One order on every engine: score (or date) down, then id up.
    hits = backend.search(query.model_copy(update={"limit": 50})).hits
    keys = [(-h.sort_values[0], h.sort_values[1]) for h in hits]  # type: ignore[operator]
    assert keys == sorted(keys)
    assert [h.sort_values[1] for h in hits] == walked
    assert len({h.sort_values[0] for h in hits}) < 37  # there were ties to break


def test_in_force_bonus_orders_every_page_by_score_plus_bonus(
    backend: SearchBackend, make: Make
) -> None:
    # 150 matches (more than the embedded engine's first window of 64), scores in a few
    # tie groups, two in three abolished: pages need documents in force from beyond the edge
    # of the window the engine fetched first.
    docs = [
        make(
            f"v{(i * 7919) % 1000:03d}",
            "",
            "低保 " * (1 + i % 5) + "填充 " * (i % 2),
            validity="有效" if i % 3 == 0 else "废止",
        )
        for i in range(150)
    ]
    load(backend, docs)
    bonus = 0.5
    plain = backend.search(SearchQuery(terms=["低保"], limit=150)).hits
    abolished = {d.document.id for d in docs if d.document.validity.status == "废止"}
    expected = sorted(plain, key=lambda h: (-(h.score + (0 if h.id in abolished else bonus)), h.id))
    query = SearchQuery(terms=["低保"], in_force_boost=bonus)
    paged = [
        h.id
        for start in range(0, 150, 10)
        for h in backend.search(query.model_copy(update={"offset": start, "limit": 10})).hits
    ]
    assert paged == ids(expected)
    assert _walk(backend, query, size=10) == ids(expected)
    assert ids(expected)[:5] != ids(plain)[:5]  # the bonus did reorder


def test_search_after_with_filters_only_orders_by_id(backend: SearchBackend, make: Make) -> None:
    load(backend, _paging_corpus(make, 23))
    query = SearchQuery()  # every document scores the same: id alone orders them
    walked = _walk(backend, query, size=5)
    assert walked == sorted(walked) and len(walked) == 28


def test_search_after_past_the_end_is_empty(backend: SearchBackend, make: Make) -> None:
    load(backend, _paging_corpus(make, 6))
    query = SearchQuery(terms=["低保"], limit=10)
    last = backend.search(query).hits[-1]
    after = backend.search(query.model_copy(update={"search_after": last.sort_values}))
    assert after.hits == [] and after.total == 6


def _service_walk(service: SearchService, size: int, **options: object) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(1000):
        page = service.search("低保", limit=size, cursor=cursor, **options)  # type: ignore[arg-type]
        seen += [h.id for h in page.hits]
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor
    raise AssertionError("next_cursor never ran out")


@pytest.mark.parametrize("recency", [0.0, 5.0])
@pytest.mark.parametrize("sort", ["relevance", "newest"])
def test_cursor_pages_through_the_rescored_window_and_beyond(
    backend: SearchBackend, make: Make, tokenizer: GovTokenizer, sort: str, recency: float
) -> None:
    # More matches than the re-scored window, so a walk crosses from it into the engine order.
    n = RERANK_DEPTH + 23
    load(backend, _paging_corpus(make, n))
    service = SearchService(backend, tokenizer)
    options = {"sort": sort, "recency": recency, "today": date(2014, 1, 1)}
    walked = _service_walk(service, 7, **options)
    assert len(walked) == len(set(walked)) == n
    by_offset = [
        h.id
        for start in range(0, n, 7)
        for h in service.search("低保", limit=7, offset=start, **options).hits  # type: ignore[arg-type]
    ]
    assert walked == by_offset


def test_a_cursor_refuses_another_search_or_junk(
    backend: SearchBackend, make: Make, tokenizer: GovTokenizer
) -> None:
    load(backend, _paging_corpus(make, 12))
    service = SearchService(backend, tokenizer)
    cursor = service.search("低保", limit=5).next_cursor
    assert cursor is not None
    with pytest.raises(BadCursor):
        service.search("低保", limit=5, cursor=cursor, sort="newest")
    with pytest.raises(BadCursor):
        service.search("公积金", limit=5, cursor=cursor)
    for junk in ("", "not base64 ☃", "e30", cursor[:-3]):
        with pytest.raises(BadCursor):
            service.search("低保", limit=5, cursor=junk)


def test_recency_puts_the_newer_of_equally_relevant_documents_first(
    backend: SearchBackend, make: Make, tokenizer: GovTokenizer
) -> None:
    body = "低保 标准 调整 " + "填充 " * 10
    load(
        backend,
        [
            make("a-old", "低保标准", body, date_published=date(2005, 3, 1)),
            make("b-new", "低保标准", body, date_published=date(2022, 3, 1)),
            make("c-mid", "低保标准", body, date_written=date(2015, 3, 1)),
            make("d-undated", "低保标准", body),
            make("e-more", "低保标准低保", body + " 低保 低保", date_published=date(2000, 1, 1)),
        ],
    )
    service = SearchService(backend, tokenizer)
    off = [h.id for h in service.search("低保", limit=10).hits]
    engine_order = ids(
        backend.search(build_search_query("低保", tokenizer, service.thesaurus, limit=10)).hits
    )
    assert off == engine_order  # off: the engine's ranking, untouched
    assert off[1:] == ["a-old", "b-new", "c-mid", "d-undated"]  # equal scores: id order
    on = [h.id for h in service.search("低保", limit=10, recency=5, today=date(2024, 1, 1)).hits]
    assert [i for i in on if i != "e-more"] == ["b-new", "c-mid", "a-old", "d-undated"]
    assert set(on) == set(off)


@pytest.fixture
def make(tokenizer) -> Make:  # type: ignore[no-untyped-def]
    """Builds analysed documents the way the ingest pipeline does."""
    from analysis.analyzer import DocumentAnalyzer

    analyzer = DocumentAnalyzer(tokenizer)

    def _make(doc_id: str, title: str, body: str, **fields: object) -> AnalyzedDocument:
        return analyzer.analyze(Document(id=doc_id, title=title, body=body, **fields))

    return _make
