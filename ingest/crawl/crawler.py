"""The crawl loop: lease pages from the frontier, fetch them politely, parse them in worker
processes, queue what they link to, and hand each new or changed document on.

Fetching is asyncio (httpx): many requests wait at once while a pool of processes parses, so
a fast site keeps every core busy and a slow one costs only waiting. All state changes go
through `CrawlStore` one page at a time, so the crawl can be killed at any point.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import multiprocessing
import resource
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, ParamSpec, TypeVar

import httpx
from pydantic import ValidationError

from gongkai.document import Attachment, Document, stable_id
from ingest.crawl.attachments import attachment_kind, extract_text
from ingest.crawl.config import CrawlSettings
from ingest.crawl.extractor import ArticleData, FoundLink, file_name, parse_page
from ingest.crawl.fetcher import Fetched, Fetcher, FetchFailed
from ingest.crawl.politeness import HostLimiter
from ingest.crawl.profiles import PageKind, SiteProfile
from ingest.crawl.robots import RobotsCache
from ingest.crawl.store import CrawlStore, NewPage, Outcome, PageRow
from ingest.crawl.urls import host_of
from ingest.support.fields import derive_title

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")
OnDocument = Callable[[int, Document], Awaitable[None]]
OnProgress = Callable[["CrawlProgress"], None]

PROGRESS_EVERY_S = 0.2
HTML_TYPES = frozenset(("text/html", "application/xhtml+xml", "text/xml", "application/xml"))


@dataclass(frozen=True)
class CrawlProgress:
    """A snapshot for a progress display."""

    fetched: int  # pages answered (lists and articles; not attachments or robots.txt)
    queued: int  # pages waiting in the frontier
    failed: int
    documents: int  # new, changed or withdrawn documents produced
    elapsed_s: float

    @property
    def docs_per_second(self) -> float:
        return self.documents / self.elapsed_s if self.elapsed_s else 0.0

    @property
    def pages_per_second(self) -> float:
        return self.fetched / self.elapsed_s if self.elapsed_s else 0.0


@dataclass
class CrawlSummary:
    """What one `crawl` call did."""

    profile: str
    run_id: int = 0
    resumed: bool = False  # continued an interrupted run
    finished: bool = False  # the frontier is empty: the next crawl starts a new run
    stopped: str | None = None  # "max_pages" or "interrupted" when it ended early
    fetched: int = 0
    listed: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0  # 304, or the same content hash
    withdrawn: int = 0
    failed: int = 0
    blocked: int = 0  # robots.txt or outside the allowed hosts
    skipped: int = 0  # not a page, no article, published before --since
    attachments: int = 0  # downloaded
    attachment_failures: int = 0
    documents: int = 0  # handed to the sink, including ones left over from a killed crawl
    failures: Counter[str] = field(default_factory=Counter)  # reason -> pages
    seconds: float = 0.0
    fetch_seconds: float = 0.0  # summed over concurrent requests
    parse_seconds: float = 0.0  # summed over workers
    cpu_seconds: float = 0.0  # this process and the parse workers

    @property
    def pages_per_second(self) -> float:
        return self.fetched / self.seconds if self.seconds else 0.0

    @property
    def docs_per_second(self) -> float:
        return self.documents / self.seconds if self.seconds else 0.0


class Crawler:
    """One crawl of one profile; `run` it in an event loop, `request_stop` from anywhere."""

    def __init__(
        self,
        profile: SiteProfile,
        settings: CrawlSettings,
        store: CrawlStore,
        on_document: OnDocument,
        *,
        max_pages: int | None = None,
        since: date | None = None,
        on_progress: OnProgress | None = None,
    ) -> None:
        self.profile = profile
        self.settings = settings
        self.store = store
        self.on_document = on_document
        self.on_progress = on_progress
        self.max_pages = max_pages
        self.since = since
        self.summary = CrawlSummary(profile=profile.name)
        self.run_id = 0
        self._documents = 0
        self._started = 0.0
        self._last_progress = 0.0
        self._worker_cpu = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._tasks: dict[asyncio.Task[None], PageRow] = {}

    def request_stop(self) -> None:
        """Stop soon (thread-safe): open requests are abandoned and fetched again next time."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop)

    def _stop(self) -> None:
        self._stopping = True
        self.summary.stopped = self.summary.stopped or "interrupted"
        for task in self._tasks:
            task.cancel()

    async def run(self) -> CrawlSummary:
        self._loop = asyncio.get_running_loop()
        self._started = time.perf_counter()
        cpu_before = _cpu_seconds()
        start_kind: PageKind = "page" if self.profile.follow == "links" else "list"
        start = [
            NewPage(url, host_of(url), self.profile.kind_of(url, start_kind), 0)
            for url in self.profile.start_urls
        ]
        info = self.store.begin_run(
            self.profile.name,
            start,
            since=self.since,
            revisit_before=datetime.now(UTC) - timedelta(seconds=self.settings.revisit_after_s),
        )
        self.run_id, self.summary.run_id, self.summary.resumed = info.id, info.id, info.resumed
        # Documents a killed crawl stored but never handed over.
        for page_id, document in self.store.pending_documents(self.profile.name):
            await self.on_document(page_id, document)
        limiter = HostLimiter(self.settings.requests_per_second, self.settings.per_host_concurrency)
        with _executor(self.settings.parse_workers) as executor:
            self._executor = executor
            # Starting worker processes blocks the caller for about a second: do it aside
            # while the first requests (robots.txt, list pages) go out.
            warm_up = asyncio.ensure_future(asyncio.to_thread(_start_workers, executor))
            async with _client(self.settings) as client:
                self.fetcher = Fetcher(client, self.settings, limiter)
                self.robots = RobotsCache(self.fetcher, self.settings, limiter)
                await self._schedule()
            await warm_up
            executor.shutdown(wait=True, cancel_futures=self._stopping)
        if not self._stopping and self.store.count(self.profile.name, ("queued", "leased")) == 0:
            self.store.finish_run(self.run_id)
            self.summary.finished = True
        self.summary.seconds = time.perf_counter() - self._started
        self.summary.cpu_seconds = _cpu_seconds() - cpu_before + self._worker_cpu
        self._progress(force=True)
        return self.summary

    # --- scheduling -------------------------------------------------------------------

    async def _schedule(self) -> None:
        buffer: deque[PageRow] = deque()
        busy: Counter[str] = Counter()
        started = 0
        try:
            while True:
                while not self._stopping and len(self._tasks) < self.settings.concurrency:
                    if self.max_pages is not None and started >= self.max_pages:
                        self.summary.stopped = "max_pages"
                        break
                    row = self._next(buffer, busy)
                    if row is None:
                        break
                    busy[row.host] += 1
                    started += 1
                    self._tasks[asyncio.ensure_future(self._visit(row))] = row
                if not self._tasks:
                    break
                done, _ = await asyncio.wait(
                    self._tasks, timeout=PROGRESS_EVERY_S, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    row = self._tasks.pop(task)
                    busy[row.host] -= 1
                    if not task.cancelled() and task.exception() is not None:
                        self._crashed(row, task.exception())
                self._progress()
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._tasks.clear()
            self.store.release(row.id for row in buffer)

    def _next(self, buffer: deque[PageRow], busy: Counter[str]) -> PageRow | None:
        """The next page whose host has a free slot (a busy host does not block others)."""
        if not buffer:
            buffer.extend(self.store.lease(self.profile.name, 4 * self.settings.concurrency))
        for index, row in enumerate(buffer):
            if busy[row.host] < self.settings.per_host_concurrency:
                del buffer[index]
                return row
        return None

    def _crashed(self, row: PageRow, exc: BaseException | None) -> None:
        log.error("crawling %s failed", row.url, exc_info=exc)
        self._finish(row, Outcome("failed", "failed", reason=f"internal error: {exc!r}"))

    # --- one page -----------------------------------------------------------------------

    async def _visit(self, row: PageRow) -> None:
        refusal = await self._refusal(row.url)
        if refusal:
            self._finish(row, Outcome("skipped", "blocked", reason=refusal))
            return
        known = row.kind in ("article", "page") and row.fingerprint and not row.withdrawn
        try:
            fetched = await self.fetcher.fetch(
                row.url,
                max_bytes=self.settings.max_page_bytes,
                etag=row.etag if known else None,
                last_modified=row.last_modified if known else None,
                gate=self._refusal,
            )
        except FetchFailed as exc:
            self._finish(
                row,
                Outcome(
                    "failed", "failed", status=exc.status, reason=exc.reason, attempts=exc.attempts
                ),
            )
            return
        self.summary.fetched += 1
        self.summary.fetch_seconds += fetched.seconds
        status = fetched.status
        if status == 304:
            self._finish(row, self._outcome(fetched, "done", "unchanged"))
        elif status in (404, 410):
            await self._gone(row, fetched)
        elif not 200 <= status < 300:
            retried = f" after {fetched.attempts} attempts" if fetched.attempts > 1 else ""
            self._finish(row, self._outcome(fetched, "failed", "failed", f"HTTP {status}{retried}"))
        else:
            await self._content(row, fetched)

    async def _content(self, row: PageRow, fetched: Fetched) -> None:
        if _is_html(fetched):
            parsed = await self._run(
                parse_page,
                self.profile,
                row.kind,  # type: ignore[arg-type]
                fetched.url,
                fetched.body,
                fetched.charset,
                self.since,
            )
            self.summary.parse_seconds += parsed.seconds
            if parsed.error:
                log.warning("undecodable page skipped: %s (%s)", fetched.url, parsed.error)
                reason = f"undecodable: {parsed.error}"
                self._finish(row, self._outcome(fetched, "failed", "failed", reason))
                return
            self._queue_links(row, parsed.links)
            if parsed.article is not None:
                await self._article(
                    row, fetched, parsed.article, parsed.attachments, parsed.encoding
                )
            elif row.kind == "article":
                reason = "no article text on the page"
                self._finish(row, self._outcome(fetched, "skipped", "skipped", reason))
            else:
                self._finish(row, self._outcome(fetched, "done", "listed"))
            return
        kind = attachment_kind(fetched.url, fetched.content_type, fetched.body)
        if row.kind in ("article", "page") and kind is not None:
            # A list item linking straight to a PDF/DOCX: the file is the document.
            text = await self._run(extract_text, fetched.url, fetched.content_type, fetched.body)
            self.summary.parse_seconds += text.seconds
            if text.text:
                title = row.anchor or file_name(fetched.url)
                article = ArticleData(title, "link", text.text, extra={"file_kind": kind})
                await self._article(row, fetched, article, ())
                return
        reason = f"not a page ({fetched.content_type or 'no content type'})"
        self._finish(row, self._outcome(fetched, "skipped", "skipped", reason))

    async def _article(
        self,
        row: PageRow,
        fetched: Fetched,
        article: ArticleData,
        links: tuple[FoundLink, ...],
        encoding: str | None = None,
    ) -> None:
        fingerprint = _fingerprint(article, links)
        if fingerprint == row.fingerprint and not row.withdrawn:
            self._finish(row, self._outcome(fetched, "done", "unchanged"))
            return
        published = article.fields.get("date_published")
        if self.since and isinstance(published, date) and published < self.since:
            reason = "published before --since"
            self._finish(row, self._outcome(fetched, "skipped", "skipped", reason))
            return
        attachments = await self._attachments(links)
        previous = self.store.document(row.id) if row.doc_id else None
        versions = list(row.versions)
        if previous is not None:
            versions.append(
                {
                    "content_hash": previous.content_hash,
                    "fetched_at": _iso(previous.fetched_at),
                    "last_seen": _iso(row.fetched_at),
                }
            )
        now = datetime.now(UTC)
        title = article.title or row.anchor
        values: dict[str, Any] = {
            **article.extra,
            **article.fields,
            "id": stable_id(url=fetched.url),
            "url": fetched.url,
            "source": "crawl",
            "title": title or derive_title(article.body),
            "title_derived": not title,
            "body": article.body,
            "attachments": attachments,
            "fetched_at": now,
            "site": host_of(fetched.url),
            "crawl_profile": self.profile.name,
        }
        if encoding:
            values["source_encoding"] = encoding
        if versions:
            values["versions"] = versions
        if row.withdrawn:
            values["withdrawn"] = False  # back online
        try:
            document = Document.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            reason = f"does not fit a Document: {first['loc']}: {first['msg']}"
            self._finish(row, self._outcome(fetched, "failed", "failed", reason))
            return
        result = self._outcome(fetched, "done", "changed" if previous else "new")
        result.fingerprint = fingerprint
        result.doc_id = document.id
        result.date_published = document.date_published
        result.withdrawn = False
        result.versions = versions
        result.document = document
        self._finish(row, result)
        await self._emit(row.id, document)

    async def _gone(self, row: PageRow, fetched: Fetched) -> None:
        """404/410: a page that had a document is marked withdrawn (re-indexed, not deleted)."""
        previous = self.store.document(row.id) if row.doc_id else None
        if previous is None:
            reason = f"HTTP {fetched.status}"
            self._finish(row, self._outcome(fetched, "failed", "failed", reason))
            return
        if row.withdrawn:
            self._finish(row, self._outcome(fetched, "done", "withdrawn", "still gone"))
            return
        document = Document.model_validate(
            {
                **previous.model_dump(),
                "withdrawn": True,
                "withdrawn_at": datetime.now(UTC).isoformat(),
                "withdrawn_status": fetched.status,
            }
        )
        result = self._outcome(fetched, "done", "withdrawn", f"HTTP {fetched.status}")
        result.withdrawn = True
        result.document = document
        self._finish(row, result)
        await self._emit(row.id, document)

    async def _attachments(self, links: tuple[FoundLink, ...]) -> list[Attachment]:
        found: list[Attachment] = []
        for link in links[: self.settings.max_attachments_per_page]:
            name = link.text or file_name(link.url)
            found.append(Attachment(name=name, url=link.url, text=await self._attachment(link)))
        return found

    async def _attachment(self, link: FoundLink) -> str | None:
        """The attachment's text (None for formats without text, or when it failed)."""
        row = self.store.attachment(self.profile.name, link.url, host_of(link.url), self.run_id)
        refusal = await self._refusal(link.url)
        if refusal:
            # Linked by name and URL only; the report shows why there is no text.
            self.store.complete(row, self.run_id, Outcome("skipped", "blocked", reason=refusal))
            return None
        try:
            fetched = await self.fetcher.fetch(
                link.url,
                max_bytes=self.settings.max_attachment_bytes,
                etag=row.etag,
                last_modified=row.last_modified,
                gate=self._refusal,
            )
        except FetchFailed as exc:
            self.summary.attachment_failures += 1
            log.warning("attachment %s not downloaded: %s", link.url, exc.reason)
            self.store.complete(
                row, self.run_id, Outcome("failed", "failed", exc.status, exc.reason)
            )
            return None
        if fetched.status == 304:
            self.store.complete(row, self.run_id, self._outcome(fetched, "done", "not_modified"))
            return self.store.attachment_text(row.id) or None
        if not 200 <= fetched.status < 300:
            self.summary.attachment_failures += 1
            reason = f"HTTP {fetched.status}"
            result = self._outcome(fetched, "failed", "failed", reason)
            self.store.complete(row, self.run_id, result)
            return None
        text = await self._run(extract_text, fetched.url, fetched.content_type, fetched.body)
        self.summary.parse_seconds += text.seconds
        self.summary.attachments += 1
        result = self._outcome(fetched, "done", "new", text.error)
        result.text = text.text or ""
        self.store.complete(row, self.run_id, result)
        return text.text

    # --- helpers ------------------------------------------------------------------------

    async def _refusal(self, url: str) -> str | None:
        if not self.profile.allows(url):
            return "outside the profile's allowed hosts"
        return await self.robots.refusal(url)

    def _queue_links(self, row: PageRow, links: tuple[FoundLink, ...]) -> None:
        depth = row.depth + 1
        if depth > self.profile.max_depth:
            return
        found = [
            NewPage(link.url, host_of(link.url), str(link.kind), depth, link.text or None)
            for link in links
            if not (link.kind == "list" and depth >= self.profile.list.max_pages)
        ]
        self.store.enqueue(self.profile.name, self.run_id, found)

    def _outcome(
        self, fetched: Fetched, state: str, outcome: str, reason: str | None = None
    ) -> Outcome:
        return Outcome(
            state,
            outcome,
            status=fetched.status,
            reason=reason,
            attempts=fetched.attempts,
            bytes=len(fetched.body),
            seconds=fetched.seconds,
            url=fetched.url,
            etag=fetched.headers.get("etag"),
            last_modified=fetched.headers.get("last-modified"),
            fetched_at=datetime.now(UTC),
        )

    def _finish(self, row: PageRow, result: Outcome) -> None:
        self.store.complete(row, self.run_id, result)
        summary = self.summary
        if result.outcome == "failed":
            summary.failed += 1
            summary.failures[result.reason or "unknown"] += 1
        elif result.outcome in ("new", "changed", "unchanged", "listed", "withdrawn", "blocked"):
            setattr(summary, result.outcome, getattr(summary, result.outcome) + 1)
        elif result.outcome == "skipped":
            summary.skipped += 1

    async def _emit(self, page_id: int, document: Document) -> None:
        self._documents += 1
        await self.on_document(page_id, document)

    async def _run(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self._executor, partial(function, *args, **kwargs))
        if isinstance(self._executor, ProcessPoolExecutor):
            # Worker CPU is not in this process's rusage: count what the worker measured.
            self._worker_cpu += getattr(result, "cpu_seconds", 0.0)
        return result

    def _progress(self, *, force: bool = False) -> None:
        now = time.perf_counter()
        if self.on_progress is None or (not force and now - self._last_progress < PROGRESS_EVERY_S):
            return
        self._last_progress = now
        self.on_progress(
            CrawlProgress(
                fetched=self.summary.fetched,
                queued=self.store.count(self.profile.name),
                failed=self.summary.failed,
                documents=self._documents,
                elapsed_s=now - self._started,
            )
        )


def _fingerprint(article: ArticleData, links: tuple[FoundLink, ...]) -> str:
    """What decides "changed": the extracted text and metadata, not the page's bytes (a
    visitor counter or a new footer must not make a new version)."""
    data = [
        article.title,
        article.body,
        sorted((k, str(v)) for k, v in article.fields.items()),
        sorted(link.url for link in links),
    ]
    return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode("utf-8")).hexdigest()


def _is_html(fetched: Fetched) -> bool:
    kind = fetched.content_type
    if kind in HTML_TYPES or kind.startswith("text/"):
        return True
    return not kind and fetched.body.lstrip()[:1] == b"<"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _executor(workers: int) -> Executor:
    if workers == 0:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="crawl-parse")
    # forkserver: workers fork from a clean server process that imported the parsers once,
    # never from this (multi-threaded) process.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["ingest.crawl.extractor", "ingest.crawl.attachments"])
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)


def _start_workers(executor: Executor) -> None:
    if isinstance(executor, ProcessPoolExecutor):
        executor.submit(int).result()


def _client(settings: CrawlSettings) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        headers={"User-Agent": settings.user_agent, "Accept-Language": "zh-CN,zh;q=0.9"},
        timeout=httpx.Timeout(
            connect=settings.connect_timeout_s,
            read=settings.read_timeout_s,
            write=settings.read_timeout_s,
            pool=None,
        ),
        limits=httpx.Limits(
            max_connections=settings.concurrency, max_keepalive_connections=settings.concurrency
        ),
        follow_redirects=False,  # followed by hand: each hop is checked and rate-limited
        trust_env=False,  # no proxy from the environment; CrawlSettings.proxy says so
        proxy=settings.proxy,
    )
