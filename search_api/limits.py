"""Request limits: body size (413) and per-client rate limits (429), as ASGI middleware.

Both answer with problem+json before the app runs, so an oversized or too-frequent request
costs almost nothing. Query length is capped in `search_api.service` (``max_query_chars``) and
by the routes' ``max_length``; deep pages by the routes' ``offset`` cap.

Rate limits use the ``limits`` library's moving window in process memory: exact (no burst at a
window edge, unlike a fixed window) and cheap for one server process. Several worker processes
would each keep their own counts; a shared storage (``limits`` supports Redis) would be the
next step. The client is the TCP peer address; behind a reverse proxy run uvicorn with
``--proxy-headers --forwarded-allow-ips=<proxy>`` so that address is the real client, never a
header a client can forge.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.exceptions import HTTPException

from gongkai.settings import Settings
from search_api.problems import PROBLEM_JSON

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SEARCH, EXPORT, LOGIN = "search", "export", "login"
SEARCH_ROOTS = frozenset({"search", "suggest", "feeds"})
LOGIN_PATHS = frozenset({"/auth/login", "/login"})


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once the streamed body passes the cap. An HTTPException, so
    FastAPI's body parsing lets it through and the problem handler answers 413."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body is larger than {max_bytes} bytes")


async def send_problem(
    send: Send, status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> None:
    body = json.dumps(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        ensure_ascii=False,
    ).encode()
    raw_headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


class RequestSizeLimit:
    """Refuse bodies over ``max_bytes``: at once when Content-Length says so, and while
    streaming otherwise (chunked uploads carry no length, and a length can lie)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = header(scope, b"content-length")
        if declared is not None and not declared.isdigit():
            await send_problem(send, 400, "Bad request", "Content-Length is not a number")
            return
        if declared is not None and int(declared) > self.max_bytes:
            await send_problem(
                send,
                413,
                "Request too large",
                f"the request body is larger than {self.max_bytes} bytes",
            )
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge as exc:
            # Reached only when something read the body outside FastAPI's handlers.
            if started:
                raise
            await send_problem(send, 413, "Request too large", str(exc.detail))


def limit_group(method: str, path: str, query_string: bytes) -> str | None:
    """Which rate limit a request counts against, if any."""
    if method == "POST" and path.rstrip("/") in LOGIN_PATHS:
        return LOGIN
    parts = [p for p in path.split("/") if p]
    if any(p.startswith("export") for p in parts):
        return EXPORT
    if parts and parts[0] in SEARCH_ROOTS:
        return SEARCH
    if len(parts) == 3 and parts[0] == "documents" and parts[2] == "similar":
        return SEARCH
    # The web search page: GET /?q=...
    if not parts and any(p.split(b"=")[0] == b"q" for p in query_string.split(b"&")):
        return SEARCH
    return None


class RateLimits:
    """Per-client moving-window limits per group; 429 with Retry-After when one is used up."""

    def __init__(self, app: ASGIApp, rules: dict[str, list[RateLimitItem]]) -> None:
        self.app = app
        self.rules = {group: items for group, items in rules.items() if items}
        # One storage per app: counts live as long as the app, shared by its requests only.
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        group = limit_group(scope["method"], scope["path"], scope.get("query_string", b""))
        items = self.rules.get(group) if group else None
        if items and group:
            client = scope["client"][0] if scope.get("client") else "unknown"
            # hit() tests and counts in one step; a refused request still counts against the
            # other items of its group (conservative, and one call per item).
            refused = [item for item in items if not self.limiter.hit(item, group, client)]
            if refused:
                wait = max(self.retry_after(item, group, client) for item in refused)
                await send_problem(
                    send,
                    429,
                    "Too many requests",
                    f"the {group} limit ({', '.join(str(i) for i in refused)}) is used up "
                    f"for {client}; retry in {wait} s",
                    {"Retry-After": str(wait)},
                )
                return
        await self.app(scope, receive, send)

    def retry_after(self, item: RateLimitItem, group: str, client: str) -> int:
        reset_at, _remaining = self.limiter.get_window_stats(item, group, client)
        return max(1, math.ceil(reset_at - time.time()))


def parse_rule(text: str, name: str) -> list[RateLimitItem]:
    """``'120/minute;2000/hour'`` -> limit items; ``''`` -> none (that limit is off)."""
    if not text.strip():
        return []
    try:
        return list(parse_many(text))
    except ValueError as exc:
        raise ValueError(f"GONGKAI_{name.upper()}: {exc}") from exc


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1").strip()
    return None


def install_limits(app: FastAPI, settings: Settings) -> None:
    """Add the rate limits (outermost: refused requests cost nothing) and the size limit."""
    app.add_middleware(RequestSizeLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(
        RateLimits,
        rules={
            SEARCH: parse_rule(settings.rate_limit_search, "rate_limit_search"),
            EXPORT: parse_rule(settings.rate_limit_export, "rate_limit_export"),
            LOGIN: parse_rule(settings.rate_limit_login, "rate_limit_login"),
        },
    )
