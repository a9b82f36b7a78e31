"""`crawl_report`: per host, what the crawler fetched, what did not change, what failed and
why, what was withdrawn, and the newest 发布日期 seen, read from the crawl state."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import case, func, select

from gongkai.settings import Settings
from ingest.crawl.config import CrawlSettings
from ingest.crawl.store import CrawlStore, fetches, pages

FETCHED = ("new", "changed", "unchanged", "not_modified", "listed", "withdrawn", "skipped")


@dataclass
class HostReport:
    host: str
    pages: int = 0  # URLs known (lists, articles, attachments)
    documents: int = 0  # pages with a document
    fetched: int = 0  # answered requests, all runs
    new: int = 0
    changed: int = 0
    unchanged: int = 0  # 304 or same content
    failed: int = 0  # pages whose last visit failed
    failures: dict[str, int] = field(default_factory=dict)  # reason -> pages
    blocked: int = 0  # robots.txt or outside the allowed hosts
    withdrawn: int = 0  # pages gone (404/410), documents marked withdrawn
    newest_published: date | None = None
    last_fetch: datetime | None = None


def crawl_report(
    settings: Settings, *, crawl_settings: CrawlSettings | None = None
) -> list[HostReport]:
    """One `HostReport` per host in the crawl state, hosts in name order."""
    config = crawl_settings or CrawlSettings.from_settings(settings)
    if config.database_url is None and not config.state_path.exists():
        return []
    store = CrawlStore.open(config.state_path, config.database_url)
    try:
        return _report(store)
    finally:
        store.close()


def _report(store: CrawlStore) -> list[HostReport]:
    reports: dict[str, HostReport] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(
            select(
                pages.c.host,
                func.count(),
                func.count(pages.c.doc_id),
                func.sum(case((pages.c.state == "failed", 1), else_=0)),
                func.sum(case((pages.c.withdrawn.is_(True), 1), else_=0)),
                func.max(pages.c.date_published),
            ).group_by(pages.c.host)
        ):
            host, known, documents, failed, withdrawn, newest = row
            reports[host] = HostReport(
                host=host,
                pages=known,
                documents=documents,
                failed=int(failed or 0),
                withdrawn=int(withdrawn or 0),
                newest_published=_as_date(newest),
            )
        outcomes: Counter[tuple[str, str]] = Counter()
        for host, outcome, count, last in conn.execute(
            select(
                fetches.c.host, fetches.c.outcome, func.count(), func.max(fetches.c.at)
            ).group_by(fetches.c.host, fetches.c.outcome)
        ):
            outcomes[(host, outcome)] += count
            report = reports.setdefault(host, HostReport(host=host))
            if report.last_fetch is None or (last is not None and last > report.last_fetch):
                report.last_fetch = last
        for (host, outcome), count in outcomes.items():
            report = reports[host]
            if outcome in FETCHED:
                report.fetched += count
            if outcome == "new":
                report.new += count
            elif outcome == "changed":
                report.changed += count
            elif outcome in ("unchanged", "not_modified"):
                report.unchanged += count
            elif outcome == "blocked":
                report.blocked += count
        for host, reason, count in conn.execute(
            select(pages.c.host, pages.c.reason, func.count())
            .where(pages.c.state == "failed")
            .group_by(pages.c.host, pages.c.reason)
        ):
            reports[host].failures[reason or "unknown"] = count
    return [reports[host] for host in sorted(reports)]


def _as_date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        return date.fromisoformat(value[:10])
    return None
