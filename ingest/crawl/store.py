"""Crawl state in a relational database: runs, the frontier (one row per normalised URL and
profile), the fetch log, and the last version of every document.

SQLAlchemy Core on SQLite by default (``<data_dir>/crawl.sqlite``), because the design keeps all
editorial state (crawl frontier included) behind SQLAlchemy so a deployment can point it at
PostgreSQL; Core rather than the ORM because the crawler only needs a few set-based statements.

Each page's outcome, its fetch-log row and its document are written in one transaction, so a
crawl killed at any moment resumes without refetching a finished page and without losing a
document: documents stay ``pending`` (an outbox) until the sink has taken them.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    create_engine,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection

from gongkai.document import Document

metadata = MetaData()

runs = Table(
    "crawl_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("profile", String(200), nullable=False, index=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("since", Date),
)

pages = Table(
    "crawl_pages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("profile", String(200), nullable=False),
    Column("url", Text, nullable=False),
    Column("host", String(300), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # list, article, page, attachment
    Column("depth", Integer, nullable=False, default=0),
    Column("anchor", Text),  # the link text it was found under
    Column("state", String(16), nullable=False),  # queued, leased, done, failed, skipped
    Column("run_id", Integer),  # the run that last queued it
    Column("http_status", Integer),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("fingerprint", String(64)),  # of the extracted page: title, text, metadata, links
    Column("doc_id", String(64)),
    Column("date_published", Date),
    Column("fetched_at", DateTime(timezone=True)),
    Column("withdrawn", Boolean, nullable=False, default=False),
    Column("reason", Text),
    Column("versions", JSON),  # earlier versions: content_hash, fetched_at, last_seen
    UniqueConstraint("profile", "url"),
)

# The last document of each page (the attachment text, for attachments), zlib-compressed JSON.
payloads = Table(
    "crawl_payloads",
    metadata,
    Column("page_id", Integer, primary_key=True),
    Column("data", LargeBinary, nullable=False),
    Column("pending", Boolean, nullable=False, default=False, index=True),
)

fetches = Table(
    "crawl_fetches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, index=True),
    Column("page_id", Integer),
    Column("host", String(300), nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("status", Integer),
    # new, changed, unchanged, not_modified, listed, withdrawn, failed, blocked, skipped
    Column("outcome", String(16), nullable=False),
    Column("reason", Text),
    Column("bytes", Integer),
    Column("seconds", Float),
    Column("attempts", Integer),
)

ACTIVE = ("queued", "leased")


@dataclass(frozen=True)
class PageRow:
    """One frontier entry as the crawler sees it."""

    id: int
    url: str
    host: str
    kind: str
    depth: int
    anchor: str | None = None
    state: str = "queued"
    etag: str | None = None
    last_modified: str | None = None
    fingerprint: str | None = None
    doc_id: str | None = None
    fetched_at: datetime | None = None
    withdrawn: bool = False
    versions: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class NewPage:
    """A URL found on a page, to be queued."""

    url: str
    host: str
    kind: str
    depth: int
    anchor: str | None = None


@dataclass
class Outcome:
    """What became of one fetch: the page's new state and its fetch-log row."""

    state: str  # done, failed, skipped
    outcome: str  # see `fetches.outcome`
    status: int | None = None
    reason: str | None = None
    attempts: int | None = None
    bytes: int | None = None
    seconds: float | None = None
    url: str | None = None  # where the fetch ended up, if redirected
    etag: str | None = None
    last_modified: str | None = None
    fingerprint: str | None = None
    doc_id: str | None = None
    date_published: date | None = None
    fetched_at: datetime | None = None
    withdrawn: bool | None = None
    versions: list[dict[str, Any]] | None = None
    document: Document | None = None  # stored, and pending until the sink confirms
    text: str | None = None  # an attachment's text, stored for the next visit


@dataclass(frozen=True)
class RunInfo:
    id: int
    resumed: bool


class CrawlStore:
    """All crawl state statements; safe to use from the crawler thread and the sink's thread
    (each call takes its own connection and transaction)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)

    @classmethod
    def open(cls, path: Path, url: str | None = None) -> CrawlStore:
        if url is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{path}"
        engine = create_engine(
            url,
            # Two threads (crawler, sink) write; SQLite serialises them, waiting up to 30 s.
            connect_args={"check_same_thread": False, "timeout": 30}
            if url.startswith("sqlite")
            else {},
        )
        if url.startswith("sqlite"):
            event.listen(engine, "connect", _sqlite_pragmas)
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    # --- runs ---------------------------------------------------------------------------

    def begin_run(
        self,
        profile: str,
        start: Sequence[NewPage],
        *,
        since: date | None,
        revisit_before: datetime | None,
    ) -> RunInfo:
        """Resume the profile's unfinished run, or start a new one: queue the start URLs and
        re-check every known document page (and earlier failures) fetched before
        ``revisit_before`` (None: all), and published on or after ``since`` (if known)."""
        with self.engine.begin() as conn:
            open_run = conn.execute(
                select(runs.c.id)
                .where(runs.c.profile == profile, runs.c.finished_at.is_(None))
                .order_by(runs.c.id.desc())
            ).first()
            if open_run is not None:
                run_id = int(open_run.id)
                # Pages in flight when the last crawl died were not finished: fetch them again.
                conn.execute(
                    update(pages)
                    .where(pages.c.profile == profile, pages.c.state == "leased")
                    .values(state="queued")
                )
                return RunInfo(run_id, resumed=True)
            created = conn.execute(
                insert(runs).values(profile=profile, started_at=_now(), since=since)
            ).inserted_primary_key
            assert created is not None
            run_id = int(created[0])
            revisit = and_(
                pages.c.profile == profile,
                pages.c.kind.in_(("article", "page")),
                or_(pages.c.doc_id.is_not(None), pages.c.state == "failed"),
            )
            if since is not None:
                revisit = and_(
                    revisit, or_(pages.c.date_published.is_(None), pages.c.date_published >= since)
                )
            if revisit_before is not None:
                revisit = and_(
                    revisit,
                    or_(pages.c.fetched_at.is_(None), pages.c.fetched_at < revisit_before),
                )
            conn.execute(update(pages).where(revisit).values(state="queued", run_id=run_id))
            self._enqueue(conn, profile, run_id, start)
            return RunInfo(run_id, resumed=False)

    def finish_run(self, run_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(runs).where(runs.c.id == run_id).values(finished_at=_now()))

    # --- frontier -----------------------------------------------------------------------

    def enqueue(self, profile: str, run_id: int, found: Sequence[NewPage]) -> int:
        """Queue URLs not yet seen in this run; returns how many were queued."""
        if not found:
            return 0
        with self.engine.begin() as conn:
            return self._enqueue(conn, profile, run_id, found)

    def _enqueue(
        self, conn: Connection, profile: str, run_id: int, found: Sequence[NewPage]
    ) -> int:
        unique = {page.url: page for page in reversed(found)}  # first mention wins
        known: dict[str, Any] = {}
        urls = list(unique)
        for chunk in _chunks(urls, 500):
            rows = conn.execute(
                select(pages.c.id, pages.c.url, pages.c.run_id, pages.c.state).where(
                    pages.c.profile == profile, pages.c.url.in_(chunk)
                )
            )
            known.update({row.url: row for row in rows})
        fresh = [
            {
                "profile": profile,
                "url": page.url,
                "host": page.host,
                "kind": page.kind,
                "depth": page.depth,
                "anchor": page.anchor,
                "state": "queued",
                "run_id": run_id,
                "withdrawn": False,
            }
            for url, page in unique.items()
            if url not in known
        ]
        if fresh:
            conn.execute(insert(pages), fresh)
        # Seen in an earlier run: visit again in this one (dedup is per run).
        again = [
            row.id for url, row in known.items() if row.run_id != run_id and row.state not in ACTIVE
        ]
        for chunk in _chunks(again, 500):
            conn.execute(
                update(pages).where(pages.c.id.in_(chunk)).values(state="queued", run_id=run_id)
            )
        return len(fresh) + len(again)

    def lease(self, profile: str, limit: int) -> list[PageRow]:
        """Up to ``limit`` queued pages, shallowest first, marked as being worked on."""
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(pages)
                .where(pages.c.profile == profile, pages.c.state == "queued")
                .order_by(pages.c.depth, pages.c.id)
                .limit(limit)
            ).all()
            ids = [row.id for row in rows]
            if ids:
                conn.execute(update(pages).where(pages.c.id.in_(ids)).values(state="leased"))
        return [_page_row(row) for row in rows]

    def release(self, ids: Iterable[int]) -> None:
        """Leased pages that were not started go back to the queue."""
        ids = list(ids)
        with self.engine.begin() as conn:
            for chunk in _chunks(ids, 500):
                conn.execute(
                    update(pages)
                    .where(pages.c.id.in_(chunk), pages.c.state == "leased")
                    .values(state="queued")
                )

    def attachment(self, profile: str, url: str, host: str, run_id: int) -> PageRow:
        """The frontier row of an attachment (created on first sight); not queued."""
        with self.engine.begin() as conn:
            row = conn.execute(
                select(pages).where(pages.c.profile == profile, pages.c.url == url)
            ).first()
            if row is None:
                conn.execute(
                    insert(pages).values(
                        profile=profile,
                        url=url,
                        host=host,
                        kind="attachment",
                        depth=0,
                        state="leased",
                        run_id=run_id,
                        withdrawn=False,
                    )
                )
                row = conn.execute(
                    select(pages).where(pages.c.profile == profile, pages.c.url == url)
                ).one()
        return _page_row(row)

    def count(self, profile: str, states: Sequence[str] = ("queued",)) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(pages)
                    .where(pages.c.profile == profile, pages.c.state.in_(states))
                ).scalar_one()
            )

    # --- outcomes -----------------------------------------------------------------------

    def complete(self, page: PageRow, run_id: int, result: Outcome) -> None:
        """Record one fetch: the page's state, its fetch-log row and its document, at once."""
        values: dict[str, Any] = {"state": result.state, "reason": result.reason}
        for name in ("etag", "last_modified", "fingerprint", "doc_id", "date_published"):
            value = getattr(result, name)
            if value is not None:
                values[name] = value
        if result.status is not None:
            values["http_status"] = result.status
        if result.fetched_at is not None:
            values["fetched_at"] = result.fetched_at
        if result.withdrawn is not None:
            values["withdrawn"] = result.withdrawn
        if result.versions is not None:
            values["versions"] = result.versions
        with self.engine.begin() as conn:
            conn.execute(update(pages).where(pages.c.id == page.id).values(**values))
            conn.execute(
                insert(fetches).values(
                    run_id=run_id,
                    page_id=page.id,
                    host=page.host,
                    url=result.url or page.url,
                    kind=page.kind,
                    at=_now(),
                    status=result.status,
                    outcome=result.outcome,
                    reason=result.reason,
                    bytes=result.bytes,
                    seconds=result.seconds,
                    attempts=result.attempts,
                )
            )
            if result.document is not None:
                data = _pack(result.document.model_dump_json())
                self._put_payload(conn, page.id, data, pending=True)
            elif result.text is not None:
                self._put_payload(conn, page.id, _pack(json.dumps(result.text)), pending=False)

    def _put_payload(self, conn: Connection, page_id: int, data: bytes, *, pending: bool) -> None:
        updated = conn.execute(
            update(payloads).where(payloads.c.page_id == page_id).values(data=data, pending=pending)
        )
        if not updated.rowcount:
            conn.execute(insert(payloads).values(page_id=page_id, data=data, pending=pending))

    # --- documents ----------------------------------------------------------------------

    def document(self, page_id: int) -> Document | None:
        """The last stored version of a page's document."""
        data = self._payload(page_id)
        return Document.model_validate_json(data) if data is not None else None

    def attachment_text(self, page_id: int) -> str | None:
        data = self._payload(page_id)
        value = json.loads(data) if data is not None else None
        return value if isinstance(value, str) else None

    def _payload(self, page_id: int) -> str | None:
        with self.engine.connect() as conn:
            data = conn.execute(
                select(payloads.c.data).where(payloads.c.page_id == page_id)
            ).scalar_one_or_none()
        return zlib.decompress(data).decode("utf-8") if data is not None else None

    def pending_documents(self, profile: str) -> Iterator[tuple[int, Document]]:
        """Documents stored but not yet confirmed by a sink (the crawl died before)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(payloads.c.page_id, payloads.c.data)
                .join(pages, pages.c.id == payloads.c.page_id)
                .where(payloads.c.pending.is_(True), pages.c.profile == profile)
                .order_by(payloads.c.page_id)
            ).all()
        for row in rows:
            yield row.page_id, Document.model_validate_json(zlib.decompress(row.data))

    def confirm(self, page_ids: Sequence[int]) -> None:
        """The sink has taken these pages' documents."""
        with self.engine.begin() as conn:
            for chunk in _chunks(list(page_ids), 500):
                conn.execute(
                    update(payloads).where(payloads.c.page_id.in_(chunk)).values(pending=False)
                )


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the report read while a crawl writes; NORMAL sync is safe with WAL (a power
    # cut can lose the last commits, never corrupt the file) and makes per-page commits cheap.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _page_row(row: Any) -> PageRow:
    return PageRow(
        id=row.id,
        url=row.url,
        host=row.host,
        kind=row.kind,
        depth=row.depth,
        anchor=row.anchor,
        state=row.state,
        etag=row.etag,
        last_modified=row.last_modified,
        fingerprint=row.fingerprint,
        doc_id=row.doc_id,
        fetched_at=_aware(row.fetched_at),
        withdrawn=bool(row.withdrawn),
        versions=list(row.versions or []),
    )


def _aware(value: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes; everything here is stored in UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _pack(text: str) -> bytes:
    return zlib.compress(text.encode("utf-8"), 1)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _now() -> datetime:
    return datetime.now(UTC)
