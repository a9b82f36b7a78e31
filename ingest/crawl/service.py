"""`crawl`: the entry point the CLI wires. The crawler runs in its own thread (an asyncio loop);
the caller's thread takes its documents in batches and gives them to the sink, so the sink
(analysis + indexing) overlaps with fetching and stays on the thread that created it.

A document counts as delivered only after the sink returned: the store keeps it pending until
then, and a crawl started after a crash hands pending documents over first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, TypeAlias

from gongkai.document import Document
from gongkai.settings import Settings
from ingest.crawl.config import CrawlSettings
from ingest.crawl.crawler import Crawler, CrawlProgress, CrawlSummary
from ingest.crawl.errors import CrawlError
from ingest.crawl.profiles import SiteProfile, resolve_target
from ingest.crawl.store import CrawlStore

if TYPE_CHECKING:
    # Only for typing: importing the pipeline loads analysis and the engines, which the
    # parse workers (that import this package) must not pay for.
    from gongkai.pipeline import IngestPipeline

log = logging.getLogger(__name__)

Sink: TypeAlias = "Callable[[list[Document]], object] | IngestPipeline"
ProgressCallback = Callable[[CrawlProgress], None]


@dataclass(frozen=True)
class _Doc:
    page_id: int
    document: Document


@dataclass(frozen=True)
class _Done:
    summary: CrawlSummary


@dataclass(frozen=True)
class _Failed:
    error: BaseException


def crawl(
    target: str | SiteProfile,
    settings: Settings,
    sink: Sink,
    *,
    max_pages: int | None = None,
    since: date | None = None,
    progress: ProgressCallback | None = None,
    crawl_settings: CrawlSettings | None = None,
) -> CrawlSummary:
    """Crawl ``target`` (a profile name, a profile file, a URL, or a `SiteProfile`) and give
    every new, changed or withdrawn document to ``sink`` (an `IngestPipeline`, or any callable
    taking a list of documents), in batches of `CrawlSettings.sink_batch`.

    Stops after ``max_pages`` pages (the next call resumes the same run), skips articles
    published before ``since``. ``progress`` is called from this thread a few times a second.
    """
    profile = target if isinstance(target, SiteProfile) else resolve_target(target)
    config = crawl_settings or CrawlSettings.from_settings(settings)
    deliver = _deliver(sink)
    store = CrawlStore.open(config.state_path, config.database_url)
    # Bounded: when the sink falls behind, the crawler waits instead of filling memory.
    events: queue.Queue[object] = queue.Queue(maxsize=4 * config.sink_batch)
    crawler = Crawler(
        profile,
        config,
        store,
        _putter(events),
        max_pages=max_pages,
        since=since,
        on_progress=_offer(events),
    )
    thread = threading.Thread(
        target=_run_crawler, args=(crawler, events), name="gongkai-crawl", daemon=True
    )
    batch: list[_Doc] = []
    first_at = 0.0
    delivered = 0

    def flush() -> None:
        nonlocal delivered
        if batch:
            deliver([item.document for item in batch])
            store.confirm([item.page_id for item in batch])
            delivered += len(batch)
            batch.clear()

    thread.start()
    try:
        while True:
            wait = config.sink_interval_s - (time.monotonic() - first_at) if batch else 0.5
            try:
                event = events.get(timeout=max(0.01, wait))
            except queue.Empty:
                if batch and time.monotonic() - first_at >= config.sink_interval_s:
                    flush()
                continue
            if isinstance(event, _Doc):
                if not batch:
                    first_at = time.monotonic()
                batch.append(event)
                if len(batch) >= config.sink_batch:
                    flush()
            elif isinstance(event, CrawlProgress):
                if progress is not None:
                    progress(event)
            elif isinstance(event, _Failed):
                raise CrawlError(f"crawl of {profile.name} failed: {event.error}") from event.error
            elif isinstance(event, _Done):
                flush()
                summary = event.summary
                summary.documents = delivered
                return summary
    except BaseException:
        # Ctrl-C or a failing sink: stop the crawler; what it stored stays pending for the
        # next crawl.
        crawler.request_stop()
        _drain(events, thread)
        raise
    finally:
        thread.join(timeout=30)
        store.close()


def _run_crawler(crawler: Crawler, events: queue.Queue[object]) -> None:
    try:
        summary = asyncio.run(crawler.run())
    except BaseException as exc:  # reported to the caller's thread, which raises it
        log.exception("crawler stopped")
        events.put(_Failed(exc))
    else:
        events.put(_Done(summary))


def _putter(events: queue.Queue[object]) -> Callable[[int, Document], Any]:
    async def put(page_id: int, document: Document) -> None:
        item = _Doc(page_id, document)
        try:
            events.put_nowait(item)
        except queue.Full:
            await asyncio.to_thread(events.put, item)

    return put


def _offer(events: queue.Queue[object]) -> Callable[[CrawlProgress], None]:
    def offer(snapshot: CrawlProgress) -> None:
        # A progress tick is worth dropping, never worth stalling the crawl for.
        with contextlib.suppress(queue.Full):
            events.put_nowait(snapshot)

    return offer


def _drain(events: queue.Queue[object], thread: threading.Thread) -> None:
    # The crawler may be blocked putting into a full queue: empty it until the thread ends.
    deadline = time.monotonic() + 30
    while thread.is_alive() and time.monotonic() < deadline:
        try:
            events.get(timeout=0.1)
        except queue.Empty:
            continue


def _deliver(sink: Sink) -> Callable[[Sequence[Document]], object]:
    if callable(sink):
        function = sink
        return lambda documents: function(list(documents))
    pipeline = sink  # an IngestPipeline (not callable): its run() takes any iterable
    return lambda documents: pipeline.run(documents)
