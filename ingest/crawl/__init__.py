"""Crawler for government disclosure sites: polite, incremental, resumable.

Public entry points (wired by the CLI as ``gongkai crawl`` and ``gongkai crawl-report``):
`crawl`, `crawl_report`; settings in `CrawlSettings`; site profiles in ``profiles/*.toml``.
"""

from ingest.crawl.config import CrawlSettings
from ingest.crawl.crawler import CrawlProgress, CrawlSummary
from ingest.crawl.profiles import SiteProfile, bundled_profiles, load_profile, resolve_target
from ingest.crawl.report import HostReport, crawl_report
from ingest.crawl.service import crawl

__all__ = [
    "CrawlProgress",
    "CrawlSettings",
    "CrawlSummary",
    "HostReport",
    "SiteProfile",
    "bundled_profiles",
    "crawl",
    "crawl_report",
    "load_profile",
    "resolve_target",
]
