"""Crawler throughput against a local site, beside a sequential baseline, in one run.

The site (a separate process: uvicorn, one worker) serves gov.cn-shaped list pages (20 items
each, "next page" links) and article pages built from the real gov.cn fragments of
../shared/data/html (synthetic ones when that folder is absent), each answered after a fixed
delay: ``--delay-ms`` for a realistic government server, and 0 for a fast one. Modes:

  baseline   one connection, fetch and parse one page after another (the same extractor)
  threads    the crawler, 8 requests in flight, parsing in one thread (parse_workers=0)
  processes  the crawler, 8 requests in flight, parsing in 2 worker processes

Printed per mode: pages/s, where the time went (summed request time vs summed parse time:
these overlap in the crawler, so they can add up to more than the wall clock), and CPU cores
busy = CPU seconds of the crawler process and its parse workers / wall seconds (the site's own
CPU is shown apart). The sink is a no-op: indexing is measured by bench/ingest_search.py.

    python bench/crawl.py [--articles 200] [--delay-ms 50] [--runs 1]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import REPO

PER_LIST = 20


@dataclass
class Result:
    mode: str
    pages: int
    seconds: float
    fetch_seconds: float
    parse_seconds: float
    cpu_seconds: float
    server_cpu_seconds: float

    def row(self) -> str:
        busy = self.fetch_seconds + self.parse_seconds
        return (
            f"{self.mode:<10} {self.pages / self.seconds:8.1f} pages/s  {self.seconds:6.2f} s  "
            f"waiting {self.fetch_seconds:6.2f} s ({self.fetch_seconds / busy:4.0%})  "
            f"parsing {self.parse_seconds:6.2f} s ({self.parse_seconds / busy:4.0%})  "
            f"cores busy {self.cpu_seconds / self.seconds:4.2f}  "
            f"(site {self.server_cpu_seconds / self.seconds:4.2f})"
        )


def build_site(articles: int) -> dict[str, bytes]:
    """Path -> bytes of every page: list pages and articles."""
    fragments = _fragments()
    pages: dict[str, bytes] = {}
    paths = [f"/zhengce/content/2024-01/01/content_{100000 + i}.htm" for i in range(articles)]
    for i, path in enumerate(paths):
        body = fragments[i % len(fragments)]
        pages[path] = (
            f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>文件{i}_中国政府网</title>"
            f"</head><body><div class='header'><a href='/'>首页</a></div>{body}"
            f"<div class='footer'>版权所有 {i}</div></body></html>"
        ).encode()
    lists = [paths[i : i + PER_LIST] for i in range(0, len(paths), PER_LIST)]
    for n, chunk in enumerate(lists):
        items = "".join(
            f"<li><a href='{p}'>国务院办公厅关于第{n}-{k}项工作的通知</a>"
            f"<span class='date'>2024-01-{1 + k % 28:02d}</span></li>"
            for k, p in enumerate(chunk)
        )
        pager = f"<div class='pagination'><a href='home_{n + 1}.htm'>下一页</a></div>"
        name = "home.htm" if n == 0 else f"home_{n}.htm"
        pages[f"/zhengce/zuixin/{name}"] = (
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>最新政策</title></head>"
            f"<body><div class='list'><ul>{items}</ul></div>"
            f"{pager if n + 1 < len(lists) else ''}</body></html>"
        ).encode()
    return pages


def _fragments() -> list[str]:
    folder = Path(os.environ.get("GONGKAI_SHARED_DATA", REPO.parent / "shared" / "data")) / "html"
    found = [p.read_text(encoding="utf-8") for p in sorted(folder.glob("gov_govcn-*.html"))]
    if found:
        return found
    paragraph = "<p>为深化医药卫生体制改革，经国务院同意，现提出以下意见。</p>" * 40
    return [f"<div id='UCAP-CONTENT'>{paragraph}</div>"]


def serve(port: int, pages: dict[str, bytes], delay_s: float) -> None:
    import asyncio

    import uvicorn
    from fastapi import FastAPI
    from fastapi.responses import Response

    app = FastAPI()

    @app.get("/{path:path}")
    async def page(path: str) -> Response:
        if delay_s:
            await asyncio.sleep(delay_s)
        if path == "robots.txt":
            return Response("User-agent: *\nDisallow: /private/\n", media_type="text/plain")
        body = pages.get("/" + path)
        if body is None:
            return Response("not found", status_code=404)
        return Response(body, media_type="text/html; charset=utf-8")

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", access_log=False)


class Site:
    """The site in its own process, so its CPU does not count as the crawler's."""

    def __init__(self, pages: dict[str, bytes], delay_s: float) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        context = multiprocessing.get_context("spawn")
        self.process = context.Process(target=serve, args=(self.port, pages, delay_s))
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Site:
        self.cpu_before = _children_cpu()
        self.process.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("site did not start")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.join()
        self.cpu = _children_cpu() - self.cpu_before


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_baseline(pages: dict[str, bytes], delay_s: float) -> Result:
    """Sequential: one connection, fetch then parse, page after page (no politeness waits)."""
    import httpx

    from ingest.crawl.extractor import parse_page
    from ingest.crawl.profiles import bundled_profiles

    with Site(pages, delay_s) as site:
        profile = bundled_profiles()["govcn-policy"].starting_at(
            site.url + "/zhengce/zuixin/home.htm"
        )
        queue: list[tuple[str, str]] = [(profile.start_urls[0], "list")]
        seen = {profile.start_urls[0]}
        fetch = parse = 0.0
        count = 0
        cpu = _self_cpu()
        started = time.perf_counter()
        with httpx.Client(trust_env=False, limits=httpx.Limits(max_connections=1)) as client:
            while queue:
                url, kind = queue.pop(0)
                t0 = time.perf_counter()
                response = client.get(url)
                fetch += time.perf_counter() - t0
                count += 1
                parsed = parse_page(profile, kind, url, response.content)  # type: ignore[arg-type]
                parse += parsed.seconds
                for link in parsed.links:
                    if link.url not in seen:
                        seen.add(link.url)
                        queue.append((link.url, str(link.kind)))
        seconds = time.perf_counter() - started
        cpu = _self_cpu() - cpu
    return Result("baseline", count, seconds, fetch, parse, cpu, site.cpu)


def run_crawler(pages: dict[str, bytes], delay_s: float, workers: int) -> Result:
    from gongkai.settings import Settings
    from ingest.crawl import CrawlSettings, bundled_profiles, crawl

    with tempfile.TemporaryDirectory() as state, Site(pages, delay_s) as site:
        settings = Settings(data_dir=Path(state))
        config = CrawlSettings.from_settings(
            settings,
            requests_per_second=1e6,  # the bench measures the crawler, not the politeness
            per_host_concurrency=8,
            concurrency=8,
            parse_workers=workers,
        )
        profile = bundled_profiles()["govcn-policy"].starting_at(
            site.url + "/zhengce/zuixin/home.htm"
        )
        summary = crawl(profile, settings, lambda docs: None, crawl_settings=config)
    mode = "processes" if workers else "threads"
    return Result(
        mode,
        summary.fetched,
        summary.seconds,
        summary.fetch_seconds,
        summary.parse_seconds,
        summary.cpu_seconds,
        site.cpu,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--delay-ms", type=float, default=50.0)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    pages = build_site(args.articles)
    size = sum(len(b) for b in pages.values()) / len(pages) / 1024
    print(f"site: {len(pages)} pages, {size:.0f} KB average, {os.cpu_count()} cores")
    for delay_ms in (args.delay_ms, 0.0):
        print(f"\n-- {delay_ms:.0f} ms per request --")
        for workers in (None, 0, 2):
            results = [measure(pages, delay_ms / 1000, workers) for _ in range(args.runs)]
            middle = sorted(results, key=lambda r: r.seconds)[len(results) // 2]
            print(middle.row())
            if args.runs > 1:
                rates = [r.pages / r.seconds for r in results]
                low, high = min(rates), max(rates)
                print(f"{'':10} median {statistics.median(rates):.1f} [{low:.1f}-{high:.1f}]")


def measure(pages: dict[str, bytes], delay_s: float, workers: int | None) -> Result:
    """The baseline when ``workers`` is None, else the crawler with that many parse workers."""
    if workers is None:
        return run_baseline(pages, delay_s)
    return run_crawler(pages, delay_s, workers)


if __name__ == "__main__":
    main()
