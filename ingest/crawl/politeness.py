"""Per-host politeness: at most N open requests per host, and a minimum interval between the
starts of two requests to one host (the rate limit, raised by robots.txt Crawl-delay or by a
server's Retry-After)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class HostLimiter:
    """Hands out request slots per host; one instance per crawl (one event loop)."""

    def __init__(self, requests_per_second: float, concurrency: int) -> None:
        self.default_interval = 1.0 / requests_per_second
        self.concurrency = concurrency
        self._interval: dict[str, float] = {}
        self._next_start: dict[str, float] = {}
        self._open: dict[str, asyncio.Semaphore] = {}

    def interval(self, host: str) -> float:
        return self._interval.get(host, self.default_interval)

    def set_delay(self, host: str, seconds: float) -> None:
        """A host's own minimum delay (robots.txt Crawl-delay): the larger one wins."""
        self._interval[host] = max(self.default_interval, seconds)

    def back_off(self, host: str, seconds: float) -> None:
        """No request to ``host`` starts for ``seconds`` (a server said Retry-After)."""
        loop = asyncio.get_running_loop()
        self._next_start[host] = max(self._next_start.get(host, 0.0), loop.time() + seconds)

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        """Held for the length of one request to ``host``."""
        semaphore = self._open.setdefault(host, asyncio.Semaphore(self.concurrency))
        async with semaphore:
            loop = asyncio.get_running_loop()
            now = loop.time()
            # Reserve the next start time before sleeping, so waiters queue up in order.
            start = max(now, self._next_start.get(host, 0.0))
            self._next_start[host] = start + self.interval(host)
            if start > now:
                await asyncio.sleep(start - now)
            yield
