"""Export sources on a real embedded index: a search paged with search_after gives every hit
once, in the search's order, with its filters; compilation rows keep missing documents."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from analysis.analyzer import DocumentAnalyzer
from analysis.tokenizer import GovTokenizer
from compilations.export.sources import SearchRequest, compilation_items, query_export
from compilations.models import CompilationDocument
from engines import make_backend
from gongkai.document import Document
from gongkai.pipeline import IngestPipeline
from gongkai.settings import Settings
from search_api.service import SearchService
from tests.compilations.export.documents import ABOLISHED, DOCS, FULL

# 57 more documents about 低保, so that paging crosses many pages.
EXTRA = [
    Document(
        id=f"extra-{n:03d}",
        title=f"关于第{n}批最低生活保障对象的公示",
        body="最低生活保障 公示 " * (n % 5 + 1),
        validity="有效" if n % 3 else "废止",
    )
    for n in range(57)
]


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, tokenizer: GovTokenizer
) -> Iterator[SearchService]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("sources"))
    backend = make_backend(settings)
    IngestPipeline(DocumentAnalyzer(tokenizer), backend).run([*DOCS, *EXTRA])
    yield SearchService(backend, tokenizer)
    backend.close()


@pytest.mark.parametrize("sort", ["relevance", "newest"])
def test_paged_export_gives_every_hit_once_in_search_order(
    service: SearchService, sort: str
) -> None:
    request = SearchRequest("最低生活保障", sort=sort)
    whole = query_export(service, request, page_size=1000)
    paged = query_export(service, request, page_size=7)
    expected = [i.doc_id for i in whole.items]
    got = [i.doc_id for i in paged.items]
    assert len(expected) == whole.total == paged.total >= 60
    assert got == expected
    assert len(set(got)) == len(got)


def test_filters_are_honoured_and_cap_truncates(service: SearchService) -> None:
    request = SearchRequest("最低生活保障", filters={"validity": ["废止"]})
    found = query_export(service, request, page_size=5)
    docs = [i.document for i in found.items]
    assert docs and all(d is not None and d.validity.status == "废止" for d in docs)
    assert ABOLISHED.id in {d.id for d in docs if d is not None}
    capped = query_export(service, SearchRequest("最低生活保障"), page_size=4, cap=10)
    assert capped.truncated and capped.count == 10
    assert len(list(capped.items)) == 10


def test_compilation_items_keep_order_and_missing(service: SearchService) -> None:
    rows = [
        CompilationDocument(ABOLISHED.id, "地方", "旧", False),
        CompilationDocument("gone", "地方", "", True),
        CompilationDocument(FULL.id, None, "", False),
    ]
    items = list(compilation_items(rows, service.backend, {"gone": "已删除"}))
    assert [i.doc_id for i in items] == [ABOLISHED.id, "gone", FULL.id]
    assert items[0].document is not None and items[0].document.title == ABOLISHED.title
    assert items[0].note == "旧" and items[0].section == "地方"
    assert items[1].missing and items[1].title == "已删除"


def test_describe_names_query_and_filters() -> None:
    request = SearchRequest("低保", {"validity": ["有效", "已修改"], "agency": []}, 2015, None)
    assert request.describe() == "低保; validity=有效|已修改; year=2015-"
    assert SearchRequest().describe() == "（全部文件）"
