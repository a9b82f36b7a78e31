"""A crawl killed with SIGKILL resumes where it stopped: pages it finished are not fetched
again (counted on the server), and documents it stored but never delivered are delivered."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gongkai.document import Document
from gongkai.settings import Settings
from ingest.crawl import bundled_profiles, crawl
from tests.conftest import REPO
from tests.ingest.crawl.conftest import Collect, Site, fast_settings
from tests.ingest.crawl.site import TRS
from tests.ingest.crawl.test_crawl import INDEXED


def test_killed_crawl_resumes_without_refetching(site: Site, tmp_path: Path) -> None:
    data_dir = tmp_path / "state"
    docs_file = tmp_path / "docs.txt"
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.ingest.crawl.crawl_child", site.url, str(data_dir),
         str(docs_file)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline:
            articles = [p for p in site.state.pages_hit() if "/t2024" in p]
            if len(articles) >= 5:
                break
            time.sleep(0.02)
        assert child.poll() is None, "the crawl ended before it could be killed"
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=10)
    before = site.state.pages_hit()
    with sqlite3.connect(data_dir / "crawl.sqlite") as db:
        finished = [
            url.split("/", 3)[3]
            for (url,) in db.execute(
                "SELECT url FROM crawl_pages WHERE state IN ('done','failed','skipped') "
                "AND kind != 'attachment'"
            )
        ]
    assert finished, "nothing finished before the kill"

    settings = Settings(data_dir=data_dir)
    sink = Collect()
    profile = bundled_profiles()["beijing-trs"].starting_at(site.url + TRS)
    summary = crawl(profile, settings, sink, crawl_settings=fast_settings(settings))
    assert summary.resumed and summary.finished

    after = site.state.pages_hit()
    for path in finished:
        assert after["/" + path] == before["/" + path], f"{path} was fetched again"
    delivered_before = set(docs_file.read_text().split()) if docs_file.exists() else set()
    delivered = delivered_before | {d.url for d in sink.documents}
    assert {u.rsplit("_", 1)[-1].split(".")[0] for u in delivered} == INDEXED


def test_documents_the_sink_did_not_take_are_delivered_next_time(
    site: Site, settings: Settings
) -> None:
    config = fast_settings(settings, sink_batch=3)
    profile = bundled_profiles()["beijing-trs"].starting_at(site.url + TRS)
    offered: list[str] = []

    def failing_sink(documents: list[Document]) -> None:
        offered.extend(d.url or "" for d in documents)
        raise RuntimeError("index is down")

    with pytest.raises(RuntimeError, match="index is down"):
        crawl(profile, settings, failing_sink, crawl_settings=config)
    assert len(offered) == 3

    sink = Collect()
    summary = crawl(profile, settings, sink, crawl_settings=config)
    urls = [d.url for d in sink.documents]
    assert set(offered) <= set(urls)  # the refused batch comes again
    assert {u.rsplit("_", 1)[-1].split(".")[0] for u in urls} == INDEXED
    assert summary.documents == len(urls)
