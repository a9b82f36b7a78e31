"""HTTP fetching with the crawler's manners: its User-Agent, per-host slots, conditional GET,
bounded retries with exponential backoff on 5xx, 429 and timeouts (never on other 4xx),
redirects followed by hand (each hop checked and rate-limited, loops stopped) and a size cap."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import httpx

from ingest.crawl.config import CrawlSettings
from ingest.crawl.politeness import HostLimiter
from ingest.crawl.urls import host_of, normalize_url

REDIRECTS = frozenset((301, 302, 303, 307, 308))
# 429 is a 4xx but a request to come back later, not a refusal: it is retried (after the
# server's Retry-After) like a 5xx. Every other 4xx is final.
RETRY_STATUSES = frozenset((429, 500, 502, 503, 504))

# Checks a redirect target before it is followed: None, or why it may not be fetched.
Gate = Callable[[str], Awaitable[str | None]]


class FetchFailed(Exception):
    """No usable response: network error, timeout, redirect loop, too large ..."""

    def __init__(self, reason: str, *, status: int | None = None, attempts: int = 1) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.attempts = attempts


@dataclass
class Fetched:
    """A final response (after redirects); 304, 4xx and 5xx included."""

    url: str  # normalised URL of the last hop
    status: int
    headers: httpx.Headers
    body: bytes
    attempts: int
    seconds: float  # time spent requesting (not waiting for a slot or backing off)
    redirects: list[str] = field(default_factory=list)

    @property
    def content_type(self) -> str:
        value: str = self.headers.get("content-type", "")
        return value.split(";", 1)[0].strip().lower()

    @property
    def charset(self) -> str | None:
        header: str = self.headers.get("content-type", "")
        for part in header.split(";")[1:]:
            name, _, value = part.partition("=")
            if name.strip().lower() == "charset" and value.strip():
                return value.strip().strip("\"'")
        return None


class Fetcher:
    """One per crawl; shares the client's connection pool and the host limiter."""

    def __init__(
        self, client: httpx.AsyncClient, settings: CrawlSettings, limiter: HostLimiter
    ) -> None:
        self.client = client
        self.settings = settings
        self.limiter = limiter

    async def fetch(
        self,
        url: str,
        *,
        max_bytes: int,
        etag: str | None = None,
        last_modified: str | None = None,
        gate: Gate | None = None,
    ) -> Fetched:
        """GET ``url`` following redirects; raises `FetchFailed` when there is no response."""
        seen = [url]
        current = url
        attempts = 0
        seconds = 0.0
        while True:
            headers = {}
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified
            response = await self._with_retries(current, headers, max_bytes)
            attempts += response.attempts
            seconds += response.seconds
            if response.status not in REDIRECTS:
                response.attempts, response.seconds = attempts, seconds
                response.redirects = seen[1:]
                return response
            target = normalize_url(response.headers.get("location", ""), current)
            if target is None:
                raise FetchFailed(
                    f"redirect to an unusable location {response.headers.get('location')!r}",
                    status=response.status,
                    attempts=attempts,
                )
            if target in seen:
                raise FetchFailed(
                    "redirect loop: " + " -> ".join([*seen[seen.index(target) :], target]),
                    status=response.status,
                    attempts=attempts,
                )
            if len(seen) > self.settings.max_redirects:
                raise FetchFailed(
                    f"more than {self.settings.max_redirects} redirects",
                    status=response.status,
                    attempts=attempts,
                )
            refusal = await gate(target) if gate else None
            if refusal:
                raise FetchFailed(
                    f"redirect to {target}: {refusal}", status=response.status, attempts=attempts
                )
            seen.append(target)
            current = target
            # Validators belong to the URL they were given for.
            etag = last_modified = None

    async def _with_retries(self, url: str, headers: dict[str, str], max_bytes: int) -> Fetched:
        host = host_of(url)
        retries = self.settings.max_retries
        for attempt in range(retries + 1):
            delay: float | None = None
            try:
                response = await self._once(url, host, headers, max_bytes)
            except (httpx.TimeoutException, TimeoutError) as exc:
                if attempt == retries:
                    raise FetchFailed(
                        f"timeout ({type(exc).__name__})", attempts=attempt + 1
                    ) from exc
            except httpx.TransportError as exc:
                if attempt == retries:
                    raise FetchFailed(
                        f"connection failed ({type(exc).__name__}: {exc})", attempts=attempt + 1
                    ) from exc
            else:
                response.attempts = attempt + 1
                if response.status not in RETRY_STATUSES or attempt == retries:
                    return response
                delay = _retry_after(response.headers.get("retry-after"))
            backoff = min(
                self.settings.backoff_max_s,
                delay if delay is not None else self.settings.backoff_base_s * 2**attempt,
            )
            if delay is not None:
                self.limiter.back_off(host, backoff)
            # Jitter keeps many waiting requests from returning in one burst.
            await asyncio.sleep(backoff * (1 + random.random() * 0.1))
        raise AssertionError("unreachable")

    async def _once(self, url: str, host: str, headers: dict[str, str], max_bytes: int) -> Fetched:
        timeout = self.settings.connect_timeout_s + 2 * self.settings.read_timeout_s
        async with self.limiter.slot(host):
            started = time.perf_counter()
            # The read timeout bounds each wait for bytes; this bounds a page that trickles.
            async with asyncio.timeout(timeout):
                async with self.client.stream("GET", url, headers=headers) as response:
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > max_bytes:
                        raise FetchFailed(f"too large ({declared} bytes > {max_bytes} cap)")
                    chunks: list[bytes] = []
                    size = 0
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            raise FetchFailed(f"too large (over the {max_bytes}-byte cap)")
                        chunks.append(chunk)
            return Fetched(
                url=url,
                status=response.status_code,
                headers=response.headers,
                body=b"".join(chunks),
                attempts=1,
                seconds=time.perf_counter() - started,
            )


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
