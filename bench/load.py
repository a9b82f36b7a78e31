"""Bounded load test of the HTTP API: mixed search / suggest / document / export traffic from
locust (headless, library mode) against `gongkai serve` on 127.0.0.1 over a real corpus.

    python bench/load.py [--seconds 60] [--users 20] [--docs lawrefbook]

Prints requests/s, p50/p99 latency and error counts per request kind and in total. The server
runs in its own process (one uvicorn worker), so the load generator does not share its CPU
time slices with it beyond what two cores force. Rate limits are turned off for the run: it
measures capacity, not the limiter (which answers 429 fast and would flatter the figures).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import shared_data

QUERIES = [
    "最低生活保障",
    "低保 标准",
    "房屋征收 补偿",
    "医保 报销",
    "养老金",
    "住房公积金 提取",
    "就业 补贴",
    '"行政处罚"',
    "环境保护 NOT 海洋",
    "title:条例 安全",
]
FILTERS = [{}, {"validity": "有效"}, {"year_from": "2015"}, {"doc_type": "条例"}]


def _wait_ready(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    sys.exit("server did not become ready")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--corpus", default="lawrefbook.dev.jsonl")
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="gongkai-load-"))
    env = {
        **os.environ,
        "GONGKAI_DATA_DIR": str(data),
        # Capacity, not the limiter, is measured (see the module docstring).
        "GONGKAI_RATE_LIMIT_SEARCH": "",
        "GONGKAI_RATE_LIMIT_EXPORT": "",
    }
    gongkai = [sys.executable, "-m", "search_api"]
    corpus = shared_data() / args.corpus
    print(f"ingesting {corpus.name} ...", file=sys.stderr)
    # Exit status 1 only says some records were skipped (reported on stderr), e.g. duplicates.
    ingest = subprocess.run([*gongkai, "ingest", str(corpus)], env=env, capture_output=True)
    if ingest.returncode not in (0, 1):
        sys.exit(ingest.stderr.decode())
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [*gongkai, "serve", "--port", str(port)], env=env, stderr=subprocess.DEVNULL
    )
    try:
        _wait_ready(url)
        hits = httpx.get(f"{url}/search", params={"q": "条例", "limit": 100}).json()["hits"]
        ids = [hit["id"] for hit in hits]
        # Baseline: the same server answering its cheapest endpoint, i.e. what one uvicorn
        # worker on this machine can do at all; then the mixed traffic.
        baseline = _run_locust(url, ids, max(5, args.seconds // 4), args.users, mixed=False)
        result = _run_locust(url, ids, args.seconds, args.users, mixed=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    report = {"mixed": result, "baseline_healthz": baseline}
    print(json.dumps(report, ensure_ascii=False, indent=2))
    print(f"{'run':<20}{'requests':>10}{'failures':>10}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    for name, run in (("mixed traffic", result), ("baseline /healthz", baseline)):
        total = run["total"]
        assert isinstance(total, dict)
        print(
            f"{name:<20}{total['requests']:>10}{total['failures']:>10}{total['rps']:>10}"
            f"{total['p50_ms']:>9}{total['p99_ms']:>9}"
        )


def _run_locust(
    url: str, ids: list[str], seconds: int, users: int, *, mixed: bool
) -> dict[str, object]:
    # Imported here: locust monkey-patches the standard library with gevent on import.
    import gevent
    from locust import FastHttpUser, constant, task
    from locust.env import Environment

    class Visitor(FastHttpUser):
        host = url
        wait_time = constant(0)

        @task(10)
        def search(self) -> None:
            params = {"q": random.choice(QUERIES), **random.choice(FILTERS), "facets": "true"}
            self.client.get("/search", params=params, name="/search")

        @task(3)
        def suggest(self) -> None:
            self.client.get("/suggest", params={"q": random.choice(QUERIES)[:2]}, name="/suggest")

        @task(3)
        def document(self) -> None:
            self.client.get(f"/documents/{random.choice(ids)}", name="/documents/{id}")

        @task(1)
        def export(self) -> None:
            # A whole result set as CSV (hundreds of laws for the broad queries).
            params = {"q": random.choice(QUERIES), "format": "csv"}
            self.client.get("/export", params=params, name="/export (csv)")

    class Prober(FastHttpUser):
        host = url
        wait_time = constant(0)

        @task
        def health(self) -> None:
            self.client.get("/healthz", name="/healthz")

    environment = Environment(user_classes=[Visitor if mixed else Prober])
    runner = environment.create_local_runner()
    runner.start(users, spawn_rate=users)
    gevent.spawn_later(seconds, runner.quit)
    runner.greenlet.join()

    def figures(entry: object) -> dict[str, float | int]:
        return {
            "requests": entry.num_requests,  # type: ignore[attr-defined]
            "failures": entry.num_failures,  # type: ignore[attr-defined]
            "rps": round(entry.total_rps, 1),  # type: ignore[attr-defined]
            "p50_ms": entry.get_response_time_percentile(0.5),  # type: ignore[attr-defined]
            "p99_ms": entry.get_response_time_percentile(0.99),  # type: ignore[attr-defined]
        }

    per_kind = {
        name: figures(entry) for (name, _method), entry in environment.stats.entries.items()
    }
    errors = {str(key): e.occurrences for key, e in environment.stats.errors.items()}
    return {
        "seconds": seconds,
        "users": users,
        "total": figures(environment.stats.total),
        "by_request": per_kind,
        "errors": errors,
    }


if __name__ == "__main__":
    main()
