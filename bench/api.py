"""Search through the HTTP API at 100k documents, with filters, highlights and facet counts,
beside the engine's own in-process time for the same queries (the API's overhead is the gap).

Index: 100,000 documents of ~2,000 characters resampled from lawrefbook, built once with the
project's pipeline and reused (`bench._common.built_index`). Two query sets, each request with
facets=true, snippets with <mark> highlights (always on), and every other one filtered by
document type or region:

  questions   the 1,592 real citizen questions of msga_govqa (~19 characters, ~25 terms
              with their bigrams: the heavy case)
  keywords    the everyday words and official names of the project thesaurus (低保,
              最低生活保障, 拆迁, 医保, ...): what the public types into a search box

Rows, per query set:

  engine only, in process    backend.search(query) on the built query: the engine's own time
  ..., binding (2 passes)    the embedded baseline: tantivy's Python binding, which counts
                             facets in a second pass over the matches (on a second thread);
                             the project's default is one native pass (engines/tantivy_passes.py)
  service, in process        SearchService.search: query building, engine, highlighting
  HTTP API, 1 client         `gongkai serve` (real uvicorn on 127.0.0.1, its own process),
                             one connection, one request at a time: latency without queueing
  HTTP API, N clients        N threads each with a keep-alive connection: throughput
  ..., W server processes    the same against `gongkai serve --workers W` (default 2)

The load is bounded in count and time (--requests, --seconds) and goes to 127.0.0.1 only.
The search rate limit is switched off for the server (GONGKAI_RATE_LIMIT_SEARCH="").

    python bench/api.py [--runs 3] [--docs 100000] [--clients 8] [--opensearch-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    REPO,
    built_index,
    index_settings,
    median,
    percentile,
    print_table,
    shared_data,
    summary,
)

FACETS = ("agency", "doc_type", "validity", "topic_top", "region")
DOC_TYPES = ["法律", "行政法规", "地方性法规", "部门规章", "司法解释"]
REGIONS = ["全国", "北京", "上海", "广东", "浙江"]


QUERY_SETS = ("questions", "keywords")


def query_texts(query_set: str) -> list[str]:
    """The texts of one query set (see the module docstring)."""
    if query_set == "keywords":
        from analysis.synonyms import Thesaurus

        return list(dict.fromkeys(word for group in Thesaurus().groups for word in group))
    with (shared_data() / "msga_govqa.dev.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line)["text"] for line in handle if line.strip()]


def requests_to_send(n: int, query_set: str = "questions", seed: int = 11) -> list[dict[str, Any]]:
    """Query parameters: facets on, every other request filtered."""
    texts = query_texts(query_set)
    rng = random.Random(seed)
    params: list[dict[str, Any]] = []
    for i in range(n):
        p: dict[str, Any] = {"q": texts[i % len(texts)], "facets": "true", "limit": 10}
        if i % 4 == 1:
            p["doc_type"] = rng.choice(DOC_TYPES)
        elif i % 4 == 3:
            p["region"] = rng.choice(REGIONS)
        params.append(p)
    return params


def _filters(p: dict[str, Any]) -> dict[str, list[str]]:
    return {k: [p[k]] for k in ("doc_type", "region") if k in p}


def in_process(settings: Any, params: list[dict[str, Any]]) -> tuple[list[float], list[float]]:
    """Latencies (ms) of the engine alone and of the whole service, in this process."""
    from analysis.synonyms import Thesaurus
    from analysis.tokenizer import GovTokenizer
    from engines import make_backend
    from search_api.queries import build_search_query
    from search_api.service import SearchService

    backend = make_backend(settings)
    tokenizer = GovTokenizer()
    thesaurus = Thesaurus()
    service = SearchService(backend, tokenizer, settings.max_query_chars)
    engine_ms, service_ms = [], []
    try:
        for p in params:
            query = build_search_query(
                p["q"], tokenizer, thesaurus, limit=10, filters=_filters(p), facets=list(FACETS)
            )
            started = time.perf_counter()
            backend.search(query)
            engine_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            service.search(p["q"], limit=10, filters=_filters(p), facets=list(FACETS))
            service_ms.append((time.perf_counter() - started) * 1000)
    finally:
        backend.close()
    return engine_ms, service_ms


def start_server(
    settings: Any, port: int, workers: int = 1
) -> tuple[subprocess.Popen[bytes], float]:
    """`gongkai serve` in its own process(es); returns it and the seconds until a search
    answers."""
    import httpx

    env = {
        **os.environ,
        "GONGKAI_RATE_LIMIT_SEARCH": "",
        "GONGKAI_DATA_DIR": str(settings.data_dir),
        "GONGKAI_EMBEDDED_ONE_PASS": str(settings.embedded_one_pass).lower(),
    }
    command = [sys.executable, "-m", "search_api", "serve", "--port", str(port)]
    command += ["--workers", str(workers)]
    if settings.engine != "embedded":
        env |= {"GONGKAI_ENGINE": settings.engine, "GONGKAI_ENGINE_URL": settings.engine_url}
        env["GONGKAI_INDEX_NAME"] = settings.index_name
    started = time.perf_counter()
    server = subprocess.Popen(command, cwd=REPO, env=env, stderr=subprocess.DEVNULL)
    deadline = started + 120
    url = f"http://127.0.0.1:{port}/search"
    while time.perf_counter() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited with {server.returncode}")
        try:
            if httpx.get(url, params={"q": "最低生活保障"}, timeout=5).status_code == 200:
                return server, time.perf_counter() - started
        except httpx.TransportError:
            pass
        time.sleep(0.02)
    server.terminate()
    raise RuntimeError("server did not answer within 120 s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def load(
    base: str, params: list[dict[str, Any]], clients: int, seconds: float
) -> tuple[list[float], float, int]:
    """Closed loop: ``clients`` threads, each sending the next request when its last one is
    answered, until every request is sent or ``seconds`` pass. Returns latencies (ms), requests
    per second and the number of failed requests.

    The clients share the server's two cores, so they use the standard library's keep-alive
    `http.client` (a fraction of httpx's CPU per request): what they spend is not spent on
    serving."""
    from http.client import HTTPConnection
    from urllib.parse import urlencode, urlsplit

    address = urlsplit(base)
    paths = ["/search?" + urlencode(p, doseq=True) for p in params]
    cursor = iter(range(len(paths)))
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    failures = 0

    def client() -> None:
        nonlocal failures
        connection = HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=30)
        try:
            for i in cursor:  # iterating a shared range iterator is atomic under the GIL
                if time.perf_counter() > deadline:
                    return
                started = time.perf_counter()
                connection.request("GET", paths[i])
                response = connection.getresponse()
                response.read()
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status != 200:
                    failures += 1
        finally:
            connection.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(client) for _ in range(clients)]:
            future.result()
    elapsed = time.perf_counter() - started
    return latencies, len(latencies) / elapsed, failures


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


Row = tuple[str, str, str, str, str, str, str]


def measure(engine: str, settings: Any, args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    for query_set in args.queries:
        rows += measure_set(engine, settings, args, query_set)
    return rows


def measure_set(engine: str, settings: Any, args: argparse.Namespace, query_set: str) -> list[Row]:
    params = requests_to_send(args.requests, query_set)
    runs: dict[str, dict[str, list[float]]] = {}

    def add(name: str, lat: list[float], rate: float | None) -> None:
        entry = runs.setdefault(name, {"p50": [], "p99": [], "rate": []})
        entry["p50"].append(percentile(lat, 0.5))
        entry["p99"].append(percentile(lat, 0.99))
        if rate is not None:
            entry["rate"].append(rate)

    # The embedded baseline: tantivy's Python binding, whose search and facet aggregation are
    # two passes over the matches (`engines.tantivy_passes`); the project searches in one.
    binding = settings.model_copy(update={"embedded_one_pass": False})
    for _ in range(args.runs):
        engine_ms, service_ms = in_process(settings, params[: args.in_process])
        add("engine only, in process", engine_ms, 1000 / median(engine_ms))
        add("service, in process", service_ms, 1000 / median(service_ms))
        if engine == "embedded":
            engine_ms, _ = in_process(binding, params[: args.in_process])
            add("engine only, binding (2 passes)", engine_ms, 1000 / median(engine_ms))
    servers = [(settings, workers, "") for workers in sorted({1, args.workers})]
    if engine == "embedded":
        servers.append((binding, args.workers, ", binding (2 passes)"))
    for server_settings, workers, how in servers:
        port = free_port()
        server, _ = start_server(server_settings, port, workers)
        processes = ("" if workers == 1 else f", {workers} server processes") + how
        try:
            base = f"http://127.0.0.1:{port}"
            load(base, params[:50], 2, 30)  # warm the server's caches and connections
            for _ in range(args.runs):
                if workers == 1 and not how:
                    lat, rate, failed = load(base, params[: args.in_process], 1, args.seconds)
                    add("HTTP API, 1 client", lat, rate)
                lat, rate, failed = load(base, params, args.clients, args.seconds)
                add(f"HTTP API, {args.clients} clients{processes}", lat, rate)
                if failed:
                    print(f"warning: {failed} requests failed", file=sys.stderr)
        finally:
            stop_server(server)
    rows: list[Row] = []
    for name, entry in runs.items():
        rows.append(
            (
                engine,
                query_set,
                name,
                summary(entry["p50"]),
                summary(entry["p99"]),
                summary(entry["rate"]),
                "" if "engine" in name else "facets, highlights",
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--workers", type=int, default=2, help="also load `gongkai serve --workers N`"
    )
    parser.add_argument("--requests", type=int, default=3000, help="per loaded run, at most")
    parser.add_argument("--in-process", type=int, default=500, help="queries per in-process run")
    parser.add_argument("--seconds", type=float, default=30.0, help="per loaded run, at most")
    parser.add_argument(
        "--queries",
        type=lambda text: [q for q in text.split(",") if q],
        default=list(QUERY_SETS),
        help="query sets, comma-separated: questions,keywords (default both)",
    )
    parser.add_argument("--opensearch-url")
    parser.add_argument("--start-opensearch", action="store_true")
    args = parser.parse_args()
    unknown = set(args.queries) - set(QUERY_SETS)
    if unknown:
        parser.error(f"unknown query set(s): {', '.join(sorted(unknown))}")

    node = None
    url = args.opensearch_url
    if args.start_opensearch and not url:
        from tests.engine.node import start_node

        node = start_node()
        url = node.url
    rows: list[Row] = []
    try:
        folder = built_index(args.docs)
        rows += measure("embedded", index_settings(folder, "embedded", None, args.docs), args)
        if url:
            folder = built_index(args.docs, "opensearch", url)
            settings = index_settings(folder, "opensearch", url, args.docs)
            rows += measure("opensearch", settings, args)
    finally:
        if node is not None:
            node.stop()
    print(f"index: {args.docs:,} documents of ~2,000 characters; {args.clients} clients max")
    print_table(("engine", "queries", "path", "p50 ms", "p99 ms", "requests/s", "with"), rows)
    print(
        f"(median [min-max] over {args.runs} runs; in-process requests/s = 1000 / p50; "
        "HTTP requests/s measured, closed loop)"
    )


if __name__ == "__main__":
    main()
