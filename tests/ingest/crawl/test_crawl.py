"""End to end against the fixture site on 127.0.0.1: documents, encodings, attachments,
failures with reasons, the progress callback and the per-host report."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pytest

from analysis.analyzer import DocumentAnalyzer
from analysis.tokenizer import GovTokenizer
from engines.base import SearchQuery
from engines.tantivy_backend import TantivyBackend
from gongkai.pipeline import IngestPipeline
from gongkai.settings import Settings
from ingest.crawl import CrawlProgress, SiteProfile, bundled_profiles, crawl, crawl_report
from ingest.crawl.config import CrawlSettings
from tests.ingest.crawl.conftest import Collect, Site
from tests.ingest.crawl.site import GOVCN_ITEMS, TRS

ARTICLES = {
    "1001": "202401/t20240110_1001.html",
    "1002": "202401/t20240109_1002.html",
    "1003": "202401/t20240108_1003.html",
    "1004": "202401/t20240107_1004.html",
    "1005": "202401/t20240106_1005.html",
    "1006": "202401/t20240105_1006.html",
    "1007": "202401/t20240104_1007.html",
    "1008": "202401/t20240103_1008.html",
    "1009": "202401/t20240102_1009.html",
    "1010": "202401/t20240101_1010.html",
    "1011": "202312/t20231231_1011.html",
    "1014": "202312/t20231228_1014.html",
    "1015": "202312/t20231227_1015.html",
}
INDEXED = {"1001", "1002", "1003", "1004", "1005", "1007", "1008", "1009", "1010"}


def trs_profile(site: Site) -> SiteProfile:
    return bundled_profiles()["beijing-trs"].starting_at(site.url + TRS)


def path(number: str) -> str:
    return TRS + ARTICLES[number]


def test_first_crawl_of_a_trs_site(
    site: Site,
    settings: Settings,
    crawl_settings: CrawlSettings,
    sink: Collect,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ticks: list[CrawlProgress] = []
    with caplog.at_level(logging.WARNING, logger="ingest.crawl"):
        summary = crawl(
            trs_profile(site), settings, sink, crawl_settings=crawl_settings, progress=ticks.append
        )
    docs = {url.rsplit("_", 1)[-1].split(".")[0]: d for url, d in sink.by_url().items()}
    assert set(docs) == INDEXED
    assert summary.finished and summary.documents == len(INDEXED) == summary.new
    assert summary.listed == 3  # index.html + index_1 + index_2 from the script pager

    # Encodings: header GBK, <meta> GB2312, header BIG5, undeclared GB18030.
    assert docs["1002"].title == "关于开展中医药继续教育项目申报工作的通知"
    assert docs["1003"].title == "关于公布中医药专家学术经验继承工作指导老师名单的通知"
    assert docs["1004"].title == "關於中醫藥傳承創新發展的通知"
    assert "請各單位認真貫徹執行" in docs["1004"].body
    assert docs["1005"].title == "关于中医医院绩效考核工作的通知"
    encodings = {n: docs[n].extra_metadata["source_encoding"] for n in ("1002", "1003", "1004")}
    assert encodings == {"1002": "gb18030", "1003": "gb18030", "1004": "big5"}
    assert "为进一步提升中医药文化科普巡讲专家能力水平" in docs["1005"].body

    # TRS metadata: <meta> tags, the body block without page chrome.
    first = docs["1001"]
    assert first.date_published == date(2024, 1, 10)
    assert first.agency == ["北京市中医管理局"]
    assert first.extra_metadata["column_name"] == "通知公告"
    assert first.body.startswith("为进一步提升") and "版权所有" not in first.body
    assert first.source == "crawl" and first.fetched_at is not None

    # Attachments: PDF and DOCX text, the rest linked by name; the robots-disallowed one is
    # linked but never requested; the one over the size cap is linked without text.
    attachments = {a.name: a for a in first.attachments}
    assert set(attachments) == {
        "附件1：培训日程", "附件2：申报表", "附件3：大文件", "附件4：名单", "附件5：内部"
    }  # fmt: skip
    assert "training schedule 2024" in (attachments["附件1：培训日程"].text or "")
    assert "中医药继续教育项目申报表" in (attachments["附件2：申报表"].text or "")
    assert attachments["附件3：大文件"].text is None
    assert attachments["附件4：名单"].text is None
    assert attachments["附件5：内部"].text is None
    assert summary.attachment_failures == 1  # the one over the cap

    # Failures, each with its reason and the right number of requests.
    hits = site.state.pages_hit()
    reasons = dict(summary.failures)
    assert reasons.pop("HTTP 403") == 1 and hits[path("1014")] == 1  # 4xx: never retried
    assert hits[path("1009")] == 3  # 500, 500, then 200: retried and recovered
    assert hits[path("1015")] == 3  # timeouts: retried, bounded (1 + max_retries)
    assert reasons.pop("timeout (ReadTimeout)") == 1
    loop = [r for r in reasons if r.startswith("redirect loop")]
    assert len(loop) == 1 and hits[path("1011")] == 1
    assert hits[TRS + "202312/t20231230_1012.html"] == 1
    undecodable = [r for r in reasons if r.startswith("undecodable")]
    assert len(undecodable) == 1
    assert any(
        "undecodable page skipped" in r.message and ARTICLES["1006"] in r.message
        for r in caplog.records
    )
    # Politeness: robots.txt read once, its disallowed path never requested, our name sent.
    assert site.state.hits["/robots.txt"] == 1
    assert not [p for p in site.state.hits if p.startswith("/private/")]
    assert summary.blocked == 1
    assert all(agent.startswith("GongkaiBot/") for agent in site.state.agents)
    # No page was fetched twice except for retries.
    assert max(n for p, n in hits.items() if p not in (path("1009"), path("1015"))) == 1

    assert ticks and ticks[-1].fetched == summary.fetched and ticks[-1].documents == 9
    assert ticks[-1].queued == 0 and ticks[-1].failed == summary.failed

    [report] = crawl_report(settings, crawl_settings=crawl_settings)
    assert report.host == site.url.removeprefix("http://")
    assert report.newest_published == date(2024, 1, 10)
    assert report.new == 9 + 3  # articles and attachments with text or without
    assert report.withdrawn == 0 and report.blocked == 2  # page and attachment in /private/
    assert report.failures["HTTP 403"] == 1
    assert report.failed == 5  # 403, loop, timeout, undecodable, attachment over the cap


def test_recrawl_fetches_conditionally_versions_changes_and_marks_withdrawn(
    site: Site, settings: Settings, crawl_settings: CrawlSettings
) -> None:
    first = Collect()
    crawl(trs_profile(site), settings, first, crawl_settings=crawl_settings)
    before = {d.url: d for d in first.documents}

    site.state.changed = True
    site.state.gone = True
    second = Collect()
    summary = crawl(trs_profile(site), settings, second, crawl_settings=crawl_settings)
    assert not summary.resumed and summary.finished
    docs = {d.url.rsplit("_", 1)[-1].split(".")[0]: d for d in second.documents if d.url}
    assert set(docs) == {"1007", "1008"}  # only what changed is re-indexed
    assert summary.changed == 1 and summary.withdrawn == 1

    changed = docs["1007"]
    old = before[changed.url]
    assert "收费标准上调5%" in changed.body
    [version] = changed.extra_metadata["versions"]
    assert version["content_hash"] == old.content_hash != changed.content_hash
    assert version["fetched_at"] == old.fetched_at.isoformat()  # type: ignore[union-attr]
    assert changed.id == old.id  # the same document, a new version

    gone = docs["1008"]
    assert gone.extra_metadata["withdrawn"] is True
    assert gone.extra_metadata["withdrawn_status"] == 404
    assert gone.body == before[gone.url].body  # kept searchable, not deleted

    # ETag and Last-Modified answered 304; the rest were compared by content hash.
    assert site.state.conditional[path("1001")] == 1
    assert site.state.conditional[path("1002")] == 1
    assert summary.unchanged >= 6

    [report] = crawl_report(settings, crawl_settings=crawl_settings)
    assert report.withdrawn == 1 and report.changed == 1

    third = Collect()
    summary = crawl(trs_profile(site), settings, third, crawl_settings=crawl_settings)
    assert third.documents == []  # still gone, no longer changing: nothing to re-index
    assert summary.withdrawn == 1


def test_max_pages_stops_and_the_next_crawl_resumes_without_refetching(
    site: Site, settings: Settings, crawl_settings: CrawlSettings
) -> None:
    first = Collect()
    summary = crawl(trs_profile(site), settings, first, crawl_settings=crawl_settings, max_pages=6)
    assert summary.stopped == "max_pages" and not summary.finished
    assert sum(site.state.pages_hit().values()) <= 6 + 2 * 2  # retries of 6 pages at most

    second = Collect()
    summary = crawl(trs_profile(site), settings, second, crawl_settings=crawl_settings)
    assert summary.resumed and summary.finished
    urls = [d.url for d in first.documents + second.documents]
    assert len(urls) == len(set(urls)) == len(INDEXED)
    hits = site.state.pages_hit()
    assert max(n for p, n in hits.items() if p not in (path("1009"), path("1015"))) == 1


def test_since_skips_older_items_and_stops_paginating(
    site: Site, settings: Settings, crawl_settings: CrawlSettings, sink: Collect
) -> None:
    crawl(trs_profile(site), settings, sink, crawl_settings=crawl_settings, since=date(2024, 1, 6))
    assert {d.date_published for d in sink.documents} == {
        date(2024, 1, day) for day in (6, 7, 8, 9, 10)
    }
    hits = site.state.pages_hit()
    assert hits[path("1007")] == 0 and hits[path("1010")] == 0  # listed as older: not fetched


def test_generic_profile_reads_an_unseen_site(
    site: Site, settings: Settings, crawl_settings: CrawlSettings, sink: Collect
) -> None:
    summary = crawl(site.url + "/misc/", settings, sink, crawl_settings=crawl_settings)
    assert summary.profile == "generic"
    [doc] = sink.documents
    assert doc.url == site.url + "/misc/notice.html"
    assert doc.title == "关于公开征求意见的公告"
    assert doc.agency == ["某市司法局"]
    assert doc.doc_number is not None and doc.doc_number.raw == "某司发〔2023〕7号"
    assert (doc.date_written, doc.date_published) == (date(2023, 11, 20), date(2023, 11, 21))
    assert "征求意见稿全文公布" in doc.body
    assert site.state.hits["/misc/about.html"] == 1  # visited, too little text to be a document
    assert not [p for p in site.state.hits if p.startswith(TRS)]  # stays where it was sent


def test_govcn_profile_follows_pagination_and_reads_the_metadata_table(
    site: Site, settings: Settings, crawl_settings: CrawlSettings, tmp_path: Path
) -> None:
    profile = bundled_profiles()["govcn-policy"].starting_at(site.url + "/zhengce/zuixin/home.htm")
    backend = TantivyBackend(tmp_path / "index")
    tokenizer = GovTokenizer()
    pipeline = IngestPipeline(DocumentAnalyzer(tokenizer), backend)
    summary = crawl(profile, settings, pipeline, crawl_settings=crawl_settings)
    assert summary.documents == 3 and summary.listed == 2
    query = SearchQuery(terms=tokenizer.query_terms("医疗联合体"), limit=1)
    doc = backend.search(query).hits[0].document
    assert doc.title == "国务院办公厅关于推进医疗联合体建设和发展的指导意见"
    assert doc.index_number == "000014349/2024-00002"
    assert doc.doc_number is not None and doc.doc_number.raw == "国办发〔2024〕2号"
    assert doc.topic is not None and (doc.topic.top, doc.topic.sub) == ("卫生、体育", "卫生")
    assert (doc.date_written, doc.date_published) == (date(2024, 1, 2), date(2024, 1, 12))
    assert doc.agency == ["国务院办公厅"]
    # Attachment text is searchable through its parent document.
    hits = backend.search(SearchQuery(terms=tokenizer.query_terms("indicators"))).hits
    assert {h.document.title for h in hits} == set(GOVCN_ITEMS.values())
