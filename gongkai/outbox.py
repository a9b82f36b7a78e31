"""The durable ingest queue: documents accepted for indexing wait here until the engine has them.

Ingest writes every accepted document to the ``index_outbox`` table (one transaction per batch)
before the engine sees it, and deletes the rows only once the engine has acknowledged them
(bulk success, then refresh/commit). A crash, an engine outage or a killed process therefore
never loses an accepted document: whatever is still in the table is indexed by the next drain
(`gongkai ingest`, `gongkai index drain`).

The rows hold the *source* `Document` (its JSON), not the analysed form: the backlog survives a
change of tokeniser or mapping, and a document is only analysed again when it actually had to
wait (the normal path indexes the batch it has just analysed in memory).

An outage (`EngineUnavailable`) leaves rows queued, retried with exponential backoff. A refusal
(the engine answered but would not take a document) sets only the refused documents aside as
*rejected*, so one bad document never blocks the queue; `gongkai index status` counts them and
`gongkai index retry` requeues them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from analysis.analyzer import DocumentAnalyzer
from engines.base import EngineError, EngineUnavailable, SearchBackend
from gongkai.document import AnalyzedDocument, Document
from gongkai.errors import GongkaiError
from gongkai.settings import Settings

metadata = MetaData()

outbox = Table(
    "index_outbox",
    metadata,
    # Order of acceptance: drained oldest first, so a later version of a document wins.
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("doc_id", String(256), nullable=False, index=True),
    Column("document", Text, nullable=False),
    Column("accepted_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("last_attempt_at", DateTime(timezone=True)),
    # Set when the engine answered but refused the batch (not an outage): such rows are kept
    # aside so one bad document cannot block the queue; `gongkai index retry` requeues them.
    Column("rejected_at", DateTime(timezone=True), index=True),
)

WAITING = outbox.c.rejected_at.is_(None)

# Longest error text kept per row (an engine's message can quote many ids).
MAX_ERROR_CHARS = 2000


class OutboxUnavailable(GongkaiError):
    """The database refused the outbox write (locked past its busy timeout, unreachable)."""


@dataclass(frozen=True)
class OutboxStatus:
    pending: int
    oldest_accepted_at: datetime | None
    oldest_age_s: float | None
    last_error: str | None
    last_attempt_at: datetime | None
    rejected: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "pending": self.pending,
            "rejected": self.rejected,
            "oldest_pending_at": _iso(self.oldest_accepted_at),
            "oldest_pending_age_s": None
            if self.oldest_age_s is None
            else round(self.oldest_age_s, 1),
            "last_error": self.last_error,
            "last_attempt_at": _iso(self.last_attempt_at),
        }


@dataclass(frozen=True)
class PendingDocument:
    seq: int
    document: Document


class Outbox:
    """The ``index_outbox`` table; every call is its own short transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """One transaction; a locked or unreachable database becomes a clear error
        (the caller's documents were not accepted, nothing half-written stays behind)."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise OutboxUnavailable(
                f"the ingest outbox at {self.engine.url.render_as_string(hide_password=True)} "
                f"cannot be used: {' '.join(str(exc.orig).split())}"
            ) from exc

    def add(self, docs: Sequence[Document]) -> list[int]:
        """Store ``docs`` durably (one transaction); returns their sequence numbers."""
        if not docs:
            return []
        now = _now()
        rows = [
            {
                "doc_id": d.id,
                "document": d.model_dump_json(),
                "accepted_at": now,
                "attempts": 0,
            }
            for d in docs
        ]
        with self._transaction() as conn:
            # One statement (SQLAlchemy's batched "insertmanyvalues"), seqs in row order on
            # SQLite and PostgreSQL alike.
            result = conn.execute(
                insert(outbox).returning(outbox.c.seq, sort_by_parameter_order=True), rows
            )
            return [int(seq) for seq in result.scalars()]

    def pending(self, limit: int, after_seq: int = 0) -> list[PendingDocument]:
        """Up to ``limit`` waiting documents with seq > ``after_seq``, oldest first."""
        with self._transaction() as conn:
            rows = conn.execute(
                select(outbox.c.seq, outbox.c.document)
                .where(WAITING, outbox.c.seq > after_seq)
                .order_by(outbox.c.seq)
                .limit(limit)
            ).all()
        return [PendingDocument(int(r.seq), Document.model_validate_json(r.document)) for r in rows]

    def confirm(self, seqs: Sequence[int]) -> None:
        """The engine has these: forget them."""
        for chunk in _chunks(seqs, 500):
            with self._transaction() as conn:
                conn.execute(delete(outbox).where(outbox.c.seq.in_(chunk)))

    def record_failure(self, seqs: Sequence[int], error: str) -> None:
        now = _now()
        for chunk in _chunks(seqs, 500):
            with self._transaction() as conn:
                conn.execute(
                    update(outbox)
                    .where(outbox.c.seq.in_(chunk))
                    .values(
                        attempts=outbox.c.attempts + 1,
                        last_error=error[:MAX_ERROR_CHARS],
                        last_attempt_at=now,
                    )
                )

    def reject(self, seqs: Sequence[int], error: str) -> None:
        """The engine refused these (bad data, not an outage): set them aside."""
        self.record_failure(seqs, error)
        for chunk in _chunks(seqs, 500):
            with self._transaction() as conn:
                conn.execute(
                    update(outbox).where(outbox.c.seq.in_(chunk)).values(rejected_at=_now())
                )

    def requeue_rejected(self) -> int:
        """Put every rejected document back in the queue (after the cause was fixed)."""
        with self._transaction() as conn:
            result = conn.execute(
                update(outbox).where(outbox.c.rejected_at.is_not(None)).values(rejected_at=None)
            )
            return int(result.rowcount or 0)

    def count(self) -> int:
        """Documents waiting for the engine (rejected ones not included)."""
        with self._transaction() as conn:
            return int(
                conn.execute(select(func.count()).select_from(outbox).where(WAITING)).scalar_one()
            )

    def status(self) -> OutboxStatus:
        with self._transaction() as conn:
            pending, oldest = conn.execute(
                select(func.count(), func.min(outbox.c.accepted_at)).where(WAITING)
            ).one()
            rejected = conn.execute(
                select(func.count()).select_from(outbox).where(~WAITING)
            ).scalar_one()
            failed = conn.execute(
                select(outbox.c.last_error, outbox.c.last_attempt_at)
                .where(outbox.c.last_error.is_not(None))
                .order_by(outbox.c.last_attempt_at.desc())
                .limit(1)
            ).first()
        oldest_at = _aware(oldest)
        return OutboxStatus(
            pending=int(pending),
            oldest_accepted_at=oldest_at,
            oldest_age_s=(_now() - oldest_at).total_seconds() if oldest_at else None,
            last_error=failed.last_error if failed else None,
            last_attempt_at=_aware(failed.last_attempt_at) if failed else None,
            rejected=int(rejected),
        )


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff between engine retries: initial, doubling, capped, for at most
    ``window_s`` of waiting in one call (so nothing waits forever)."""

    initial_s: float = 1.0
    max_s: float = 30.0
    window_s: float = 120.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Backoff:
        return cls(
            settings.index_retry_initial_s,
            settings.index_retry_max_s,
            settings.index_retry_window_s,
        )

    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` consecutive failures (1, 2, ...)."""
        return float(min(self.max_s, self.initial_s * 2 ** max(failures - 1, 0)))


@dataclass
class DrainReport:
    indexed: int = 0
    pending: int = 0
    rejected: int = 0
    attempts: int = 0
    last_error: str | None = None

    @property
    def complete(self) -> bool:
        return self.pending == 0


Analyze = Callable[[Sequence[Document]], list[AnalyzedDocument]]


class OutboxDrainer:
    """Moves the backlog from the outbox into the engine, ``batch_size`` rows at a time."""

    def __init__(
        self,
        box: Outbox,
        backend: SearchBackend,
        analyzer: DocumentAnalyzer,
        batch_size: int = 500,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
        analyze: Analyze | None = None,
    ) -> None:
        self.outbox = box
        self.backend = backend
        self.analyzer = analyzer
        self.batch_size = batch_size
        self.backoff = backoff or Backoff()
        self.sleep = sleep
        self._analyze = analyze or analyzer.analyze_many

    def deliver(self, pending: Sequence[PendingDocument], rejected: list[str] | None = None) -> int:
        """Index ``pending`` and confirm it once the engine acknowledged (bulk + refresh);
        returns how many documents the engine took.

        An outage raises `EngineUnavailable` (recorded on the rows, which stay queued). When
        the engine refuses the batch, it is sent again one document at a time, so only the
        documents it refuses are set aside (their errors appended to ``rejected``)."""
        if not pending:
            return 0
        # The same document twice in one batch: the later version wins, indexed once.
        latest = {p.document.id: p.document for p in pending}
        seqs = [p.seq for p in pending]
        try:
            self.backend.index(self._analyze(list(latest.values())))
            self.backend.refresh()
        except EngineUnavailable as exc:
            self.outbox.record_failure(seqs, str(exc))
            raise
        except EngineError as exc:
            if len(pending) == 1:
                self.outbox.reject(seqs, str(exc))
                if rejected is not None:
                    rejected.append(str(exc))
                return 0
            # In order, so a later version of a document still wins.
            return sum(self.deliver([one], rejected) for one in pending)
        self.outbox.confirm(seqs)
        return len(latest)

    def drain_once(self, rejected: list[str] | None = None) -> int:
        """One pass over the backlog as it is now; raises `EngineUnavailable` at the first
        outage. Refused documents are set aside (see `deliver`) and the pass goes on."""
        indexed = 0
        after = 0
        while True:
            batch = self.outbox.pending(self.batch_size, after_seq=after)
            if not batch:
                return indexed
            after = batch[-1].seq
            indexed += self.deliver(batch, rejected)

    def drain(self, window_s: float | None = None) -> DrainReport:
        """Drain, retrying an unavailable engine with exponential backoff for at most
        ``window_s`` seconds of waiting (default: the backoff's window; 0: one attempt)."""
        window = self.backoff.window_s if window_s is None else window_s
        report = DrainReport()
        waited = 0.0
        failures = 0
        refused: list[str] = []
        while True:
            report.attempts += 1
            try:
                self.backend.ensure_index()
                report.indexed += self.drain_once(refused)
                report.last_error = None
                break
            except EngineUnavailable as exc:
                report.last_error = str(exc)
                failures += 1
                pause = self.backoff.delay(failures)
                if waited + pause > window:
                    break
                self.sleep(pause)
                waited += pause
        report.pending = self.outbox.count()
        report.rejected = self.outbox.status().rejected
        if refused and report.last_error is None:
            report.last_error = refused[-1]
        return report


def _chunks(items: Sequence[int], size: int) -> list[Sequence[int]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite gives naive datetimes back; they were written in UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
