"""The public web pages as HTML (no browser): served by real uvicorn over the ingested samples.

Expected values come from the JSON API of the same server, never written into the test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup, Tag

from gongkai.settings import Settings
from search_api.app import create_app
from tests.support.live_server import live_server
from tests.support.web_site import HOSTILE_ID, HOSTILE_TITLE, build_site


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = build_site(tmp_path_factory.mktemp("web") / "data")
    with live_server(create_app(settings)) as url:
        yield url


def page(server: str, path: str, **params: str | list[str]) -> BeautifulSoup:
    response = httpx.get(server + path, params=params)
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    return BeautifulSoup(response.text, "lxml")


def api(server: str, path: str, **params: str | list[str]) -> dict:  # type: ignore[type-arg]
    response = httpx.get(server + path, params=params)
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def hit_ids(soup: BeautifulSoup) -> list[str]:
    return [str(li["data-doc-id"]) for li in soup.select("li.hit")]


def facet_counts(soup: BeautifulSoup, name: str) -> dict[str, int]:
    counts = {}
    for label in soup.select(f"#facet-{name} label"):
        box = label.find("input")
        count = label.select_one(".count")
        if isinstance(box, Tag) and count is not None:
            counts[str(box["value"])] = int(count.get_text())
    return counts


def test_search_page_without_javascript_lists_the_api_hits(server: str) -> None:
    soup = page(server, "/", q="低保")
    expected = api(server, "/search", q="低保", limit="10")
    assert hit_ids(soup) == [h["id"] for h in expected["hits"]]
    assert f"共 {expected['total']} 件" in soup.select_one(".results-heading").get_text()  # type: ignore[union-attr]
    # The form is a plain GET form: searching needs no script.
    form = soup.select_one("form#search-form")
    assert form is not None and form["method"] == "get" and form["action"] == "/"
    first = soup.select_one("li.hit h2 a")
    assert first is not None and str(first["href"]).startswith("/doc/")
    # Highlights as the API gives them: the same words marked in titles and snippets.
    for li, hit in zip(soup.select("li.hit"), expected["hits"], strict=True):
        for css, field in [(".hit-title a", "title_html"), (".snippet", "snippet")]:
            shown = li.select_one(css)
            assert shown is not None
            marks = [m.get_text() for m in shown.find_all("mark")]
            assert marks == re.findall(r"<mark>(.*?)</mark>", hit[field])
    assert soup.select("li.hit mark")


def test_every_page_is_chinese_with_csp_and_labelled_inputs(server: str) -> None:
    for path in ["/", "/?q=养老金", "/doc/sample-001", "/login"]:
        response = httpx.get(server + path)
        assert response.status_code == 200, path
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        soup = BeautifulSoup(response.text, "lxml")
        assert soup.html is not None and soup.html["lang"] == "zh-CN"
        assert soup.select_one("a.skip-link[href='#main']") is not None
        assert soup.select_one("#main") is not None
        # No inline script or style: all of it is in static files the CSP allows.
        assert all(s.get("src") for s in soup.find_all("script")), path
        assert not soup.select("[style]") and not soup.find_all("style"), path
        assert not soup.select("[onclick], [onload], [onchange]"), path
        for field in soup.select("input:not([type=hidden]), select, textarea"):
            labelled = field.find_parent("label") is not None or (
                field.get("id") and soup.select_one(f"label[for='{field['id']}']") is not None
            )
            assert labelled, f"{path}: unlabelled {field}"


def test_results_page_links_its_atom_feed(server: str) -> None:
    soup = page(server, "/", q="养老金")
    link = soup.select_one("link[rel=alternate][type='application/atom+xml']")
    assert link is not None
    feed = httpx.get(server + str(link["href"]))
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("application/atom+xml")
    assert "养老金" in httpx.URL(str(link["href"])).params["q"]


def test_facets_show_the_api_counts_and_filter_combined(server: str) -> None:
    soup = page(server, "/", q="补贴")
    expected = api(server, "/search", q="补贴", facets="true")
    for name in ["agency", "validity", "doc_type", "topic_top", "region"]:
        assert facet_counts(soup, name) == {
            f["value"]: f["count"] for f in expected["facets"][name]
        }
    assert facet_counts(soup, "year"), "year facet missing"
    agency = expected["facets"]["agency"][0]["value"]
    validity = expected["facets"]["validity"][0]["value"]
    filtered = page(server, "/", q="补贴", agency=agency, validity=validity)
    both = api(server, "/search", q="补贴", agency=agency, validity=validity, limit="10")
    assert both["total"] > 0
    assert hit_ids(filtered) == [h["id"] for h in both["hits"]]
    # Chosen values are ticked, and each can be removed by a link keeping the other.
    checked = {str(i["value"]) for i in filtered.select(".facet input[checked]")}
    assert {agency, validity} <= checked
    chips = {a.get_text(" ", strip=True): str(a["href"]) for a in filtered.select("a.chip")}
    remove_agency = next(href for text, href in chips.items() if agency in text)
    assert "validity=" in remove_agency and "agency=" not in remove_agency


def test_year_facet_filters_by_year(server: str) -> None:
    counts = facet_counts(page(server, "/", q=""), "year")
    year, count = max(counts.items(), key=lambda item: item[1])
    soup = page(server, "/", year=year)
    assert f"共 {count} 件" in soup.select_one(".results-heading").get_text()  # type: ignore[union-attr]


def test_validity_badges_say_the_status_in_words(server: str) -> None:
    expected = {
        "有效": "badge-valid",
        "废止": "badge-repealed",
        "失效": "badge-expired",
        "已修改": "badge-amended",
    }
    for status, css in expected.items():
        soup = page(server, "/", validity=status)
        hits = soup.select("li.hit")
        assert hits, status
        for hit in hits:
            badge = hit.select_one(".badge")
            assert badge is not None and badge.get_text(strip=True) == status
            assert css in badge["class"]


def test_sort_newest_orders_by_publication_date(server: str) -> None:
    soup = page(server, "/", q="通知", sort="newest")
    expected = api(server, "/search", q="通知", sort="newest", limit="10")
    assert hit_ids(soup) == [h["id"] for h in expected["hits"]]
    selected = soup.select_one("#sort option[selected]")
    assert selected is not None and selected["value"] == "newest"


def test_pagination_walks_all_results(server: str) -> None:
    total = api(server, "/search", q="")["total"]
    seen: list[str] = []
    url = "/"
    while url:
        soup = BeautifulSoup(httpx.get(server + url).text, "lxml")
        seen += hit_ids(soup)
        following = soup.select_one(".pagination a[rel=next]")
        url = str(following["href"]) if following is not None else ""
    assert len(seen) == total and len(set(seen)) == total


def test_did_you_mean_offers_a_link_when_nothing_is_found(server: str) -> None:
    query = '"最低生活保彰"'
    expected = api(server, "/search", q=query)
    assert expected["total"] == 0 and expected["did_you_mean"]
    soup = page(server, "/", q=query)
    offered = [a.get_text() for a in soup.select(".did-you-mean a")]
    assert offered == expected["did_you_mean"]
    assert not soup.select("li.hit")


def test_document_page_shows_metadata_text_lineage_and_similar(server: str) -> None:
    doc = api(server, "/documents/sample-023")
    soup = page(server, "/doc/sample-023", q="最低生活保障")
    assert soup.select_one("h1#doc-title").get_text() == doc["title"]  # type: ignore[union-attr]
    rows = {
        th.get_text(strip=True): th.find_next_sibling("td").get_text(" ", strip=True)  # type: ignore[union-attr]
        for th in soup.select(".meta-table th")
    }
    for label in ["索引号", "主题分类", "发布机构", "发文字号", "成文日期", "发布日期", "有效性"]:
        assert label in rows
    assert rows["索引号"] == doc["index_number"]
    assert rows["发文字号"] == doc["doc_number"]["raw"]
    assert rows["发布日期"] == doc["date_published"]
    assert doc["validity"]["status"] in rows["有效性"]
    text = soup.select_one(".full-text").get_text()  # type: ignore[union-attr]
    assert doc["body"].splitlines()[1].strip() in text
    assert soup.select(".full-text mark"), "query words are marked in the text"
    lineage = api(server, "/documents/sample-023/lineage")
    assert lineage["replaced_by"]
    links = {str(a["href"]) for a in soup.select("#lineage-heading ~ ul a")}
    assert {f"/doc/{i}" for i in lineage["replaced_by"]} <= links
    similar = api(server, "/documents/sample-023/similar", limit="5")
    shown = [str(a["href"]) for a in soup.select("#similar-heading ~ ul a")]
    assert shown == [f"/doc/{h['id']}" for h in similar["hits"]]


def test_unknown_document_is_a_404_page(server: str) -> None:
    response = httpx.get(server + "/doc/no-such-doc")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "未找到文件" in response.text


def test_hostile_document_renders_as_text(server: str) -> None:
    for path in [f"/doc/{HOSTILE_ID}", "/?q=低保审核", "/?q=民政局"]:
        response = httpx.get(server + path)
        soup = BeautifulSoup(response.text, "lxml")
        # The only elements are the page's own: no script/img/b/i/a from the document.
        assert [s["src"] for s in soup.find_all("script")] == ["/static/gongkai.js"], path
        assert not soup.find_all("img"), path
        assert not soup.find_all(["b", "i"]), path
        assert all(
            str(a.get("href", "")).startswith(("/", "#", "http")) for a in soup.find_all("a")
        ), path
        assert not any(a.get("onmouseover") or a.get("onerror") for a in soup.find_all(True))
    soup = page(server, f"/doc/{HOSTILE_ID}")
    assert soup.select_one("h1#doc-title").get_text() == HOSTILE_TITLE  # type: ignore[union-attr]
    assert "<script>alert(8)</script>附件.pdf" in soup.select_one(".attachments").get_text()  # type: ignore[union-attr]


def test_static_files_are_served_by_exact_name_only(server: str) -> None:
    script = httpx.get(server + "/static/gongkai.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert httpx.get(server + "/static/gongkai.css").status_code == 200
    for bad in ["/static/..%2Fpages.py", "/static/pages.py", "/static/missing.js"]:
        assert httpx.get(server + bad).status_code == 404, bad


def test_engine_down_is_a_page_not_a_stack_trace(tmp_path: Path) -> None:
    settings = Settings(engine="opensearch", engine_url="http://127.0.0.1:1", data_dir=tmp_path)
    app = create_app(settings)
    try:
        with live_server(app) as url:
            response = httpx.get(url + "/", params={"q": "低保"})
    finally:
        app.state.database.dispose()
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert "检索服务暂时不可用" in response.text
    assert "127.0.0.1:1" in response.text


@pytest.mark.engine
def test_search_page_on_opensearch(opensearch_url: str, tmp_path: Path) -> None:
    from analysis.analyzer import DocumentAnalyzer
    from analysis.tokenizer import GovTokenizer
    from engines import make_backend
    from gongkai.document import Document
    from gongkai.pipeline import IngestPipeline
    from ingest.jsonl import JsonlIngestor
    from tests.conftest import cluster_settings
    from tests.support.web_site import SAMPLES

    settings = cluster_settings("opensearch", opensearch_url, tmp_path)
    docs = [d for d in JsonlIngestor(settings).ingest(SAMPLES) if isinstance(d, Document)]
    backend = make_backend(settings)
    IngestPipeline(DocumentAnalyzer(GovTokenizer()), backend).run(docs)
    app = create_app(settings, backend)
    try:
        with live_server(app) as url:
            soup = page(url, "/", q="低保", validity="有效")
            expected = api(url, "/search", q="低保", validity="有效", facets="true")
            assert hit_ids(soup) == [h["id"] for h in expected["hits"]][:10]
            for name in ["agency", "doc_type", "validity", "topic_top", "region"]:
                counts = {f["value"]: f["count"] for f in expected["facets"][name]}
                assert facet_counts(soup, name) == counts
            doc = page(url, "/doc/sample-020")
            assert doc.select_one("h1#doc-title") is not None
    finally:
        backend.drop()
        app.state.database.dispose()
