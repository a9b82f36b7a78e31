"""`search_api.web.pages`: the search form read from a query string, and links built from it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from engines.base import FacetCount
from search_api.web.pages import (
    MAX_PAGE,
    PAGE_SIZE,
    SearchForm,
    active_filters,
    evidence_text,
    facet_groups,
    pagination,
    safe_link,
)


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_form_reads_filters_and_forgives_bad_values() -> None:
    form = SearchForm.from_query(
        {
            "q": ["  低保  "],
            "agency": ["示例市民政局", "示例市民政局", " "],
            "validity": ["有效"],
            "page": ["-3"],
            "year": ["1800"],
            "year_from": ["2020"],
            "sort": ["oldest"],
        }
    )
    assert form.q == "低保"
    assert form.filters == {"agency": ("示例市民政局",), "validity": ("有效",)}
    assert form.page == 1 and form.year is None and form.year_from == 2020
    assert form.sort == "relevance"
    assert SearchForm.from_query({"page": [str(MAX_PAGE + 5)]}).page == 1


def test_without_a_query_the_order_is_newest() -> None:
    assert SearchForm.from_query({}).sort == "newest"
    assert SearchForm.from_query({"q": ["x"], "sort": ["newest"]}).sort == "newest"


def test_urls_round_trip() -> None:
    form = SearchForm.from_query(
        {"q": ["养老金"], "agency": ["A", "B"], "year": ["2023"], "sort": ["newest"], "page": ["3"]}
    )
    assert SearchForm.from_query(query(form.url())) == form


def test_removing_a_filter_keeps_the_others_and_goes_to_page_one() -> None:
    form = SearchForm.from_query(
        {"q": ["x"], "agency": ["A", "B"], "validity": ["有效"], "page": ["2"]}
    )
    chips = {c.value: query(c.remove_url) for c in active_filters(form)}
    assert chips["A"]["agency"] == ["B"] and chips["A"]["validity"] == ["有效"]
    assert "page" not in chips["A"]
    assert "validity" not in chips["有效"]


def test_facets_tick_chosen_values_and_keep_them_when_counted_zero() -> None:
    form = SearchForm.from_query({"validity": ["废止"], "year": ["2019"]})
    groups = {
        g.name: g
        for g in facet_groups(
            form,
            {
                "validity": [FacetCount(value="有效", count=3)],
                "year": [FacetCount(value="2018", count=1), FacetCount(value="2020", count=2)],
            },
        )
    }
    assert [(o.value, o.checked) for o in groups["validity"].options] == [
        ("有效", False),
        ("废止", True),
    ]
    assert [o.value for o in groups["year"].options] == ["2020", "2018", "2019"]
    assert groups["year"].single and not groups["validity"].single


def test_pagination_window_and_ends() -> None:
    form = SearchForm.from_query({"q": ["x"], "page": ["5"]})
    pages = pagination(form, total=PAGE_SIZE * 9 + 1)
    assert [p.number for p in pages.pages] == [3, 4, 5, 6, 7]
    assert pages.last_page == 10
    assert pages.previous is not None and query(pages.previous)["page"] == ["4"]
    last = pagination(SearchForm.from_query({"page": ["10"]}), total=PAGE_SIZE * 9 + 1)
    assert last.next is None


def test_only_http_links_are_links() -> None:
    assert safe_link("https://www.gov.cn/a.html") == "https://www.gov.cn/a.html"
    for bad in ["javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,x", "//x", None]:
        assert safe_link(bad) is None


def test_evidence_in_words() -> None:
    assert evidence_text("field: 废止") == "发布页面标注"
    assert evidence_text("本办法自2020年1月1日起施行") == "本办法自2020年1月1日起施行"
    assert evidence_text(None) is None
