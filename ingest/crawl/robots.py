"""robots.txt, fetched once per host and crawl, read with the standard library's parser.

Status rules follow RFC 9309: a robots.txt that is missing or refused (4xx) allows everything;
one that cannot be fetched (5xx, timeout) forbids the whole host for this crawl, because the
site may be struggling. Crawl-delay is honoured (capped by settings) through the host limiter.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from urllib.robotparser import RobotFileParser

from ingest.crawl.config import CrawlSettings
from ingest.crawl.fetcher import Fetcher, FetchFailed
from ingest.crawl.politeness import HostLimiter
from ingest.crawl.urls import host_of

log = logging.getLogger(__name__)
MAX_ROBOTS_BYTES = 512 * 1024  # Google reads the first 500 KiB


@dataclass(frozen=True)
class HostRules:
    parser: RobotFileParser | None  # None: everything allowed
    refusal: str | None = None  # set: nothing allowed, and why


class RobotsCache:
    def __init__(self, fetcher: Fetcher, settings: CrawlSettings, limiter: HostLimiter) -> None:
        self.fetcher = fetcher
        self.settings = settings
        self.limiter = limiter
        self._rules: dict[str, asyncio.Task[HostRules]] = {}

    async def refusal(self, url: str) -> str | None:
        """None if ``url`` may be fetched, else the reason it may not."""
        scheme = url.split(":", 1)[0]
        host = host_of(url)
        key = f"{scheme}://{host}"
        if key not in self._rules:
            # One fetch per host, however many workers ask at once.
            self._rules[key] = asyncio.ensure_future(self._load(key, host))
        rules = await self._rules[key]
        if rules.refusal:
            return rules.refusal
        if rules.parser is not None and not rules.parser.can_fetch(self.settings.robots_agent, url):
            return "disallowed by robots.txt"
        return None

    async def _load(self, origin: str, host: str) -> HostRules:
        url = f"{origin}/robots.txt"
        try:
            response = await self.fetcher.fetch(url, max_bytes=MAX_ROBOTS_BYTES)
        except FetchFailed as exc:
            log.warning("robots.txt of %s unreachable (%s): host skipped", host, exc.reason)
            return HostRules(None, f"robots.txt unreachable ({exc.reason})")
        if response.status >= 500:
            log.warning("robots.txt of %s: HTTP %s: host skipped", host, response.status)
            return HostRules(None, f"robots.txt unreachable (HTTP {response.status})")
        if response.status >= 400 or response.status < 200:
            return HostRules(None)
        parser = RobotFileParser(url)
        lines = response.body.decode("utf-8", errors="replace").splitlines()
        parser.parse(lines)
        delay = crawl_delay(lines, self.settings.robots_agent)
        rate = parser.request_rate(self.settings.robots_agent)
        seconds = delay or 0.0
        if rate is not None and rate.requests:
            seconds = max(seconds, rate.seconds / rate.requests)
        if seconds:
            self.limiter.set_delay(host, min(seconds, self.settings.max_crawl_delay_s))
        return HostRules(parser)


def crawl_delay(lines: list[str], agent: str) -> float | None:
    """Crawl-delay for ``agent`` (its own group, else ``*``). The stdlib parser reads only
    whole seconds; sites write "Crawl-delay: 0.5" too."""
    delays: dict[str, float] = {}
    group: list[str] = []
    in_rules = False
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        if name == "user-agent":
            if in_rules:
                group, in_rules = [], False
            group.append(value.lower())
        elif name:
            in_rules = True
            if name == "crawl-delay":
                try:
                    seconds = float(value)
                except ValueError:
                    continue
                for member in group:
                    delays.setdefault(member, seconds)
    token = agent.lower()
    for member, seconds in delays.items():
        if member != "*" and member in token:
            return seconds
    return delays.get("*")
