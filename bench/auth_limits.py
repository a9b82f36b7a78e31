"""What the request limits and API-key checks cost per request, beside the same app without them.

One real uvicorn server per configuration on 127.0.0.1, one keep-alive client, requests one at
a time (latency, not throughput), the configurations alternated within each run:

  /search, limits on          rate-limit + body-size middleware (limit set high: never refuses)
  /search, no limit layers    the same app with both middlewares removed (baseline)
  /auth/me, API key           key hashed with SHA-256 and looked up in SQLite
  /auth/me, anonymous         no credentials (baseline)

and, in process (no network noise): the two middlewares around a do-nothing ASGI app beside the
bare app, and one scrypt password check beside one API-key lookup.

    python bench/auth_limits.py [--runs 3] [--requests 400]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from analysis.analyzer import DocumentAnalyzer
from analysis.tokenizer import GovTokenizer
from bench._common import print_table, summary
from engines import make_backend
from gongkai.accounts import AccountStore, Role
from gongkai.database import create_database_engine
from gongkai.document import Document
from gongkai.pipeline import IngestPipeline
from gongkai.settings import Settings
from search_api.app import create_app
from search_api.limits import RateLimits, RequestSizeLimit
from tests.support.live_server import live_server

CITIES = ["甲市", "乙市", "丙市", "丁市", "戊市"]


def build(data_dir: Path) -> str:
    docs = [
        Document(
            id=f"d{i}",
            title=f"关于调整{CITIES[i % 5]}最低生活保障标准的通知（{i}）",
            body=f"{CITIES[i % 5]}城乡低保标准提高，特困供养同步调整。房屋征收补偿第{i}条。",
        )
        for i in range(300)
    ]
    backend = make_backend(Settings(data_dir=data_dir))
    IngestPipeline(DocumentAnalyzer(GovTokenizer()), backend).run(docs)
    backend.close()
    store = AccountStore(create_database_engine(Settings(data_dir=data_dir)))
    return store.create_user("bench", Role.LIBRARIAN)[1]


def per_second(url: str, path: str, headers: dict[str, str], n: int) -> float:
    with httpx.Client(base_url=url, headers=headers) as client:
        client.get(path).raise_for_status()  # warm-up
        start = time.perf_counter()
        for _ in range(n):
            client.get(path).raise_for_status()
        return n / (time.perf_counter() - start)


def timed(fn: Callable[[], object], n: int) -> float:
    """Milliseconds per call, median of ``n``."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return sorted(times)[len(times) // 2]


def middleware_us(n: int) -> tuple[float, float, float]:
    """Microseconds per request through RateLimits + RequestSizeLimit when the request passes
    (each from its own client, so no window fills), when it is refused (one client far over
    120/minute: the 429 answer), and through the bare app."""
    from limits import parse_many

    async def noop(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        return None

    def scope(client: str) -> dict[str, Any]:
        return {
            "type": "http",
            "method": "GET",
            "path": "/search",
            "query_string": b"q=x",
            "headers": [(b"content-length", b"0")],
            "client": (client, 1),
        }

    def limited() -> Any:
        rules = {"search": list(parse_many("120/minute"))}
        return RateLimits(RequestSizeLimit(noop, 1024 * 1024), rules)

    async def run(app: Any, scopes: list[dict[str, Any]]) -> float:
        start = time.perf_counter()
        for one in scopes:
            await app(one, receive, send)
        return (time.perf_counter() - start) / len(scopes) * 1e6

    many = [scope(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}") for i in range(n)]
    one = [scope("10.0.0.1")] * n

    async def all_three() -> tuple[float, float, float]:
        return await run(limited(), many), await run(limited(), one), await run(noop, many)

    return asyncio.run(all_three())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="gongkai-bench-auth-"))
    key = build(data_dir)
    settings = Settings(data_dir=data_dir, rate_limit_search="1000000/minute")
    with_limits = create_app(settings)
    without = create_app(settings)
    without.user_middleware = [
        m for m in without.user_middleware if m.cls not in (RateLimits, RequestSizeLimit)
    ]
    rows: dict[str, list[float]] = {}
    search = "/search?q=低保标准&limit=10"
    with live_server(with_limits) as on, live_server(without) as off:
        for _ in range(args.runs):
            for label, url, path, headers in [
                ("/search, limits on", on, search, {}),
                ("/search, no limit layers (baseline)", off, search, {}),
                ("/auth/me, API key", on, "/auth/me", {"Authorization": f"Bearer {key}"}),
                ("/auth/me, anonymous (baseline)", on, "/auth/me", {}),
            ]:
                rows.setdefault(label, []).append(per_second(url, path, headers, args.requests))
    print(f"{args.requests} sequential requests per run, {args.runs} runs, median [min-max]")
    print_table(["configuration", "requests/s"], [(k, summary(v)) for k, v in rows.items()])

    passed, refused, bare = zip(*(middleware_us(20_000) for _ in range(args.runs)), strict=True)
    print()
    print_table(
        ["in process, per request", "microseconds"],
        [
            ("rate + size limit, request passes", summary(passed)),
            ("rate + size limit, request refused (429)", summary(refused)),
            ("bare ASGI app (baseline)", summary(bare)),
        ],
    )

    store = AccountStore(create_database_engine(Settings(data_dir=data_dir)))
    store.set_password("bench", "bench-password-1", actor="bench")
    print()
    print_table(
        ["check", "ms per call (median of 9)"],
        [
            (
                "scrypt password (n=2^15, r=8)",
                f"{timed(lambda: store.verify_password('bench', 'x' * 12), 9):.1f}",
            ),
            ("API key (SHA-256 + lookup)", f"{timed(lambda: store.authenticate_key(key), 9):.2f}"),
        ],
    )


if __name__ == "__main__":
    main()
