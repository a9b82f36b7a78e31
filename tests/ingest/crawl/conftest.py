"""Fixtures for the crawler tests: the fixture site on a real server on 127.0.0.1, crawl
settings fast enough for tests (but every politeness rule still on), and a collecting sink."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gongkai.document import Document
from gongkai.settings import Settings
from ingest.crawl.config import CrawlSettings
from tests.ingest.crawl.site import FixtureSite, SiteState
from tests.support.live_server import live_server


@dataclass
class Site:
    url: str
    state: SiteState


@dataclass
class Collect:
    """A sink that keeps what it is given, batch by batch."""

    batches: list[list[Document]] = field(default_factory=list)

    def __call__(self, documents: list[Document]) -> None:
        self.batches.append(documents)

    @property
    def documents(self) -> list[Document]:
        return [d for batch in self.batches for d in batch]

    def by_url(self) -> dict[str, Document]:
        return {d.url or "": d for d in self.documents}


@pytest.fixture
def site() -> Iterator[Site]:
    state = SiteState()
    with live_server(FixtureSite(state).app) as url:  # type: ignore[arg-type]
        yield Site(url, state)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "state")


def fast_settings(settings: Settings, **overrides: object) -> CrawlSettings:
    values: dict[str, object] = {
        "requests_per_second": 1000.0,
        "per_host_concurrency": 4,
        "concurrency": 8,
        "connect_timeout_s": 2.0,
        "read_timeout_s": 0.6,
        "max_retries": 2,
        "backoff_base_s": 0.02,
        "backoff_max_s": 0.1,
        "max_attachment_bytes": 100_000,
        "parse_workers": 0,
        "sink_batch": 5,
        "sink_interval_s": 0.2,
    }
    values.update(overrides)
    return CrawlSettings.from_settings(settings, **values)


@pytest.fixture
def crawl_settings(settings: Settings) -> CrawlSettings:
    return fast_settings(settings)


@pytest.fixture
def sink() -> Collect:
    return Collect()
