"""Parsing in worker processes gives the same documents as parsing in a thread."""

from __future__ import annotations

from gongkai.settings import Settings
from ingest.crawl import bundled_profiles, crawl
from tests.ingest.crawl.conftest import Collect, Site, fast_settings
from tests.ingest.crawl.site import TRS
from tests.ingest.crawl.test_crawl import INDEXED


def test_process_pool_parses_the_same(site: Site, settings: Settings) -> None:
    sink = Collect()
    profile = bundled_profiles()["beijing-trs"].starting_at(site.url + TRS)
    summary = crawl(
        profile, settings, sink, crawl_settings=fast_settings(settings, parse_workers=2)
    )
    assert {d.url.rsplit("_", 1)[-1].split(".")[0] for d in sink.documents if d.url} == INDEXED
    first = next(d for d in sink.documents if d.url and d.url.endswith("_1001.html"))
    assert any(a.text and "training schedule" in a.text for a in first.attachments)
    assert summary.parse_seconds > 0 and summary.cpu_seconds > 0
