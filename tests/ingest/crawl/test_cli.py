"""`gongkai crawl` and `gongkai crawl-report` as a user runs them, against the fixture site."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.ingest.crawl.conftest import Site
from tests.ingest.crawl.site import TRS
from tests.support.cli import run_gongkai

# Politeness stays on; the local fixture site can take more than one request a second.
FAST = {"GONGKAI_CRAWL_REQUESTS_PER_SECOND": "200", "GONGKAI_CRAWL_PER_HOST_CONCURRENCY": "4"}


def gongkai(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return run_gongkai(*args, data_dir=data_dir, **FAST)


def test_crawl_indexes_then_reports_and_resumes_nothing_twice(site: Site, tmp_path: Path) -> None:
    first = gongkai("crawl", site.url + TRS, "--max-pages", "40", data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "new" in first.stderr
    status = json.loads(gongkai("index", "status", "--json", data_dir=tmp_path).stdout)
    assert status["documents"] >= 1
    report = json.loads(gongkai("crawl-report", "--json", data_dir=tmp_path).stdout)
    (host,) = report
    assert host["host"].startswith("127.0.0.1")
    assert host["new"] >= status["documents"]
    assert any(agent.startswith("GongkaiBot") for agent in site.state.agents)

    again = gongkai("crawl", site.url + TRS, data_dir=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "fetched" in again.stderr
    assert " 0 new" in " ".join(again.stderr.split())
    assert sum(site.state.conditional.values()) >= 1  # revisits asked with ETag/Last-Modified
    again_status = json.loads(gongkai("index", "status", "--json", data_dir=tmp_path).stdout)
    assert again_status["documents"] == status["documents"]


def test_unknown_profile_is_a_clear_error(tmp_path: Path) -> None:
    done = gongkai("crawl", "no-such-profile", data_dir=tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
