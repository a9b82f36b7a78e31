"""The HTTP API, served by a real uvicorn server on 127.0.0.1 (no in-process test client)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from analysis.analyzer import DocumentAnalyzer
from analysis.tokenizer import GovTokenizer
from engines import make_backend
from gongkai.document import Document
from gongkai.pipeline import IngestPipeline
from gongkai.settings import Settings
from search_api.app import create_app
from tests.support.live_server import live_server

DOCS = [
    Document(
        id="low",
        title="关于提高最低生活保障标准的通知",
        body="各区民政局：城乡低保标准提高。",
        agency="示例市民政局",
        doc_number="示民发〔2023〕5号",
    ),
    Document(
        id="house",
        title="国有土地上房屋征收补偿办法",
        body="房屋征收 补偿 安置 <script>x</script>",
        agency="示例市住房和城乡建设局",
    ),
    Document(id="xss", title='<img src=x onerror="alert(1)">养老金', body="基本养老金调整"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tokenizer: GovTokenizer) -> Iterator[str]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("api"))
    IngestPipeline(DocumentAnalyzer(tokenizer), make_backend(settings)).run(DOCS)
    with live_server(create_app(settings)) as url:
        yield url


def test_search_returns_ranked_hits_with_highlighted_snippets(server: str) -> None:
    body = httpx.get(f"{server}/search", params={"q": "低保标准"}).json()
    assert body["total"] >= 1
    first = body["hits"][0]
    assert first["id"] == "low"
    assert {"id", "title", "score", "snippet", "agency", "date_published"} <= first.keys()
    assert "<mark>低保</mark>" in first["snippet"] or "<mark>低保标准</mark>" in first["snippet"]


def test_snippets_and_titles_escape_document_html(server: str) -> None:
    hits = httpx.get(f"{server}/search", params={"q": "房屋征收 养老金"}).json()["hits"]
    for hit in hits:
        without_marks = hit["snippet"].replace("<mark>", "").replace("</mark>", "")
        assert "<" not in without_marks
        title = hit["title_html"].replace("<mark>", "").replace("</mark>", "")
        assert "<" not in title
    assert any("&lt;script&gt;" in h["snippet"] for h in hits)


def test_get_document_and_404_problem(server: str) -> None:
    doc = httpx.get(f"{server}/documents/house").json()
    assert doc["title"] == "国有土地上房屋征收补偿办法"
    missing = httpx.get(f"{server}/documents/nope")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["status"] == 404


def test_healthz_reports_engine_and_count(server: str) -> None:
    health = httpx.get(f"{server}/healthz").json()
    assert health["engine"] == "embedded"
    assert health["documents"] == len(DOCS)


def test_bad_parameters_are_clear_4xx(server: str) -> None:
    response = httpx.get(f"{server}/search", params={"q": "低保", "limit": "0"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    for q in ["", "！！！", "的 了", '"unbalanced', "x" * 5000]:
        ok = httpx.get(f"{server}/search", params={"q": q})
        assert ok.status_code == 200, q


def test_openapi_docs_served(server: str) -> None:
    schema = httpx.get(f"{server}/openapi.json").json()
    assert {"/search", "/documents/{doc_id}", "/healthz"} <= schema["paths"].keys()
    assert httpx.get(f"{server}/docs").status_code == 200


def test_engine_down_gives_503_problem(tmp_path: Path) -> None:
    settings = Settings(engine="opensearch", engine_url="http://127.0.0.1:1", data_dir=tmp_path)
    with live_server(create_app(settings)) as url:
        response = httpx.get(f"{url}/search", params={"q": "低保"})
    assert response.status_code == 503
    assert "127.0.0.1:1" in response.json()["detail"]


def test_filters_facets_and_sort(server: str) -> None:
    body = httpx.get(f"{server}/search", params={"q": "", "facets": "true"}).json()
    assert body["total"] == len(DOCS)
    agencies = {f["value"]: f["count"] for f in body["facets"]["agency"]}
    assert agencies == {"示例市民政局": 1, "示例市住房和城乡建设局": 1}
    only = httpx.get(f"{server}/search", params={"agency": "示例市民政局"}).json()
    assert [h["id"] for h in only["hits"]] == ["low"]
    bad = httpx.get(f"{server}/search", params={"sort": "oldest"})
    assert bad.status_code == 422


def test_query_language_over_http(server: str) -> None:
    hits = httpx.get(f"{server}/search", params={"q": "养老金 OR 低保 -民政局"}).json()["hits"]
    assert "xss" in [h["id"] for h in hits]
    assert "low" not in [h["id"] for h in hits]  # its body names the 民政局


def test_lineage_endpoint(server: str) -> None:
    view = httpx.get(f"{server}/documents/house/lineage").json()
    assert view["id"] == "house"
    assert {"cites", "cited_by", "versions", "replaced_by"} <= view.keys()
    assert httpx.get(f"{server}/documents/nope/lineage").status_code == 404


@pytest.mark.parametrize("typed", ["示民发〔2023〕5号", "示民发[2023]5号", "示民发2023年5号"])
def test_a_document_number_typed_anywhere_finds_that_document_first(
    server: str, typed: str
) -> None:
    hits = httpx.get(f"{server}/search", params={"q": f"养老金 {typed}"}).json()["hits"]
    assert hits[0]["id"] == "low"
    only = httpx.get(f"{server}/search", params={"q": f"docno:{typed}"}).json()["hits"]
    assert [h["id"] for h in only] == ["low"]


@pytest.mark.parametrize("partial", ["示民发", "示民发〔2023〕", "示民发[2023]", "示民发2023年"])
def test_docno_prefix_finds_numbers_by_issuer_and_year(server: str, partial: str) -> None:
    hits = httpx.get(f"{server}/search", params={"q": f"docno:{partial}"}).json()["hits"]
    assert [h["id"] for h in hits] == ["low"]
    other_year = httpx.get(f"{server}/search", params={"q": "docno:示民发〔2019〕"}).json()
    assert other_year["total"] == 0


def test_similar_documents_never_include_the_document(server: str) -> None:
    similar = httpx.get(f"{server}/documents/low/similar").json()
    assert "low" not in [h["id"] for h in similar["hits"]]
    assert httpx.get(f"{server}/documents/nope/similar").status_code == 404


def test_atom_feed_is_valid_xml_newest_first_and_escaped(server: str) -> None:
    from xml.etree import ElementTree as ET

    response = httpx.get(f"{server}/feeds/search", params={"q": "养老金 OR 低保 OR 征收"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)  # well-formed, whatever the titles contain
    ns = {"a": "http://www.w3.org/2005/Atom"}
    titles = [e.findtext("a:title", namespaces=ns) for e in feed.findall("a:entry", ns)]
    assert '<img src=x onerror="alert(1)">养老金' in titles  # text, not markup
    updated = [e.findtext("a:updated", namespaces=ns) for e in feed.findall("a:entry", ns)]
    assert updated == sorted(updated, reverse=True)


def test_suggest_completes_titles_and_terms(server: str) -> None:
    body = httpx.get(f"{server}/suggest", params={"q": "关于"}).json()
    assert body["titles"] == ["关于提高最低生活保障标准的通知"]
    terms = httpx.get(f"{server}/suggest", params={"q": "最低"}).json()["terms"]
    assert "最低生活保障" in terms
    assert httpx.get(f"{server}/suggest", params={"q": ""}).json() == {"titles": [], "terms": []}


def test_did_you_mean_when_nothing_is_found(server: str) -> None:
    params = {"q": "最低生活保证", "agency": "无此机关"}  # the filter guarantees no hits
    body = httpx.get(f"{server}/search", params=params).json()
    assert body["total"] == 0
    assert body["did_you_mean"][0] == "最低生活保障"
    found = httpx.get(f"{server}/search", params={"q": "最低生活保障"}).json()
    assert found["total"] > 0 and found["did_you_mean"] == []


def test_cursor_pages_walk_every_hit_once_and_junk_is_a_400(server: str) -> None:
    seen: list[str] = []
    params: dict[str, str | int] = {"q": "低保 房屋征收 养老金", "limit": 1}
    first = httpx.get(f"{server}/search", params=params).json()
    body = first
    for _ in range(10):
        seen += [h["id"] for h in body["hits"]]
        if body["next_cursor"] is None:
            break
        assert "=" not in body["next_cursor"] and "+" not in body["next_cursor"]  # URL-safe
        body = httpx.get(
            f"{server}/search", params={**params, "cursor": body["next_cursor"]}
        ).json()
    assert sorted(seen) == sorted(set(seen)) and len(seen) == first["total"] >= 2
    for junk in ("%%%", "eyJ2IjoxfQ", "x" * 3000):
        bad = httpx.get(f"{server}/search", params={**params, "cursor": junk})
        assert bad.status_code in (400, 422)
        assert bad.headers["content-type"].startswith("application/problem+json")
    other = httpx.get(f"{server}/search", params={"q": "公积金", "cursor": first["next_cursor"]})
    assert other.status_code == 400 and "another search" in other.json()["detail"]


def test_offset_paging_stops_at_the_cap_and_points_to_cursors(server: str) -> None:
    capped = httpx.get(f"{server}/search", params={"q": "低保", "offset": 9_950, "limit": 100})
    assert capped.status_code == 422 and "cursor" in capped.json()["detail"]
    edge = httpx.get(f"{server}/search", params={"q": "低保", "offset": 9_990, "limit": 10})
    assert edge.status_code == 200 and edge.json()["hits"] == []


def test_recency_is_a_half_life_in_years(server: str) -> None:
    on = httpx.get(f"{server}/search", params={"q": "低保", "recency": 5})
    assert on.status_code == 200 and on.json()["total"] >= 1
    assert httpx.get(f"{server}/search", params={"q": "低保", "recency": -1}).status_code == 422
