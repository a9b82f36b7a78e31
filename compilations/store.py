"""Tables of curated compilations and every statement on them (SQLAlchemy Core).

The current state lives in normalised tables (compilations, sections, documents, excludes);
each change also writes the whole state after it as a JSON row of ``compilation_versions``,
so history, snapshots and restore never depend on replaying diffs. Proposals (the inbox of
living and seeded compilations) are not part of the versioned state: deciding one is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    insert,
    select,
    update,
)

metadata = MetaData()

# Longest document id, section, snapshot and author name the tables hold (checked by the
# service, so PostgreSQL never has to refuse one).
NAME_LENGTH = ID_LENGTH = 200

compilations = Table(
    "compilations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("title", String(300), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("query", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("order_rule", String(32), nullable=False),
    # Optimistic concurrency: every write is `... WHERE version = <what the writer read>`.
    Column("version", Integer, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


def _owner() -> Column[int]:
    return Column(
        "compilation_id",
        Integer,
        ForeignKey("compilations.id", ondelete="CASCADE"),
        primary_key=True,
    )


sections = Table(
    "compilation_sections",
    metadata,
    _owner(),
    Column("name", String(200), primary_key=True),
    Column("position", Integer, nullable=False),
)

documents = Table(
    "compilation_documents",
    metadata,
    _owner(),
    Column("doc_id", String(ID_LENGTH), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("section", String(200), nullable=True),
    Column("note", Text, nullable=False, default=""),
    Column("title", Text, nullable=False, default=""),
    Column("added_by", String(200), nullable=False),
    Column("added_at", DateTime(timezone=True), nullable=False),
)

excludes = Table(
    "compilation_excludes",
    metadata,
    _owner(),
    Column("doc_id", String(ID_LENGTH), primary_key=True),
)

versions = Table(
    "compilation_versions",
    metadata,
    _owner(),
    Column("version", Integer, primary_key=True),
    Column("author", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("action", Text, nullable=False),
    Column("snapshot", String(200), nullable=True),
    Column("state", JSON, nullable=False),
)

proposals = Table(
    "compilation_proposals",
    metadata,
    _owner(),
    Column("doc_id", String(ID_LENGTH), primary_key=True),
    Column("title", Text, nullable=False, default=""),
    Column("status", String(16), nullable=False),
    Column("reason", JSON, nullable=False),
    Column("proposed_at", DateTime(timezone=True), nullable=False),
    Column("decided_by", String(200), nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=True),
)

_CHILDREN = (sections, documents, excludes, versions, proposals)


def create_tables(engine: Engine) -> None:
    metadata.create_all(engine)


def now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    # SQLite gives naive datetimes back; everything stored is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class EntryState:
    doc_id: str
    section: str | None = None
    note: str = ""
    title: str = ""
    added_by: str = ""
    added_at: datetime = field(default_factory=now)


@dataclass
class CompilationState:
    """Everything a version records: the compilation as its readers and editors see it."""

    title: str
    description: str
    query: dict[str, Any]
    status: str
    order_rule: str
    sections: list[str] = field(default_factory=list)
    entries: list[EntryState] = field(default_factory=list)  # in reading order
    excludes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "description": self.description,
            "query": self.query,
            "status": self.status,
            "order_rule": self.order_rule,
            "sections": list(self.sections),
            "documents": [
                {
                    "doc_id": e.doc_id,
                    "section": e.section,
                    "note": e.note,
                    "title": e.title,
                    "added_by": e.added_by,
                    "added_at": e.added_at.isoformat(),
                }
                for e in self.entries
            ],
            "excludes": list(self.excludes),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CompilationState:
        return cls(
            title=data["title"],
            description=data["description"],
            query=data["query"],
            status=data["status"],
            order_rule=data["order_rule"],
            sections=list(data["sections"]),
            entries=[
                EntryState(
                    doc_id=d["doc_id"],
                    section=d["section"],
                    note=d["note"],
                    title=d["title"],
                    added_by=d["added_by"],
                    added_at=_aware(datetime.fromisoformat(d["added_at"])),
                )
                for d in data["documents"]
            ],
            excludes=list(data["excludes"]),
        )


# --- compilations -------------------------------------------------------------------------


def insert_compilation(conn: Connection, state: CompilationState, author: str) -> int:
    moment = now()
    result = conn.execute(
        insert(compilations).values(
            title=state.title,
            description=state.description,
            query=state.query,
            status=state.status,
            order_rule=state.order_rule,
            version=1,
            created_by=author,
            created_at=moment,
            updated_by=author,
            updated_at=moment,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def current_version(conn: Connection, compilation_id: int) -> int | None:
    found = conn.execute(
        select(compilations.c.version).where(compilations.c.id == compilation_id)
    ).scalar_one_or_none()
    return None if found is None else int(found)


def bump_version(
    conn: Connection, compilation_id: int, expected: int | None, author: str
) -> int | None:
    """Take the next version number, only if the compilation is still at ``expected`` (any
    version when None). The conditional UPDATE is the lock: of two writers who read the same
    version, the database lets exactly one through. Returns the new version, or None when
    the row is missing or has moved on (the caller tells which)."""
    condition = compilations.c.id == compilation_id
    if expected is not None:
        condition = and_(condition, compilations.c.version == expected)
    result = conn.execute(
        update(compilations)
        .where(condition)
        .values(version=compilations.c.version + 1, updated_by=author, updated_at=now())
    )
    if result.rowcount != 1:
        return None
    return current_version(conn, compilation_id)


def compilation_row(conn: Connection, compilation_id: int) -> dict[str, Any] | None:
    row = (
        conn.execute(select(compilations).where(compilations.c.id == compilation_id))
        .mappings()
        .first()
    )
    if row is None:
        return None
    found = dict(row)
    for key in ("created_at", "updated_at"):
        found[key] = _aware(found[key])
    return found


def load_state(conn: Connection, compilation_id: int) -> CompilationState | None:
    row = compilation_row(conn, compilation_id)
    if row is None:
        return None
    section_names = conn.execute(
        select(sections.c.name)
        .where(sections.c.compilation_id == compilation_id)
        .order_by(sections.c.position)
    ).scalars()
    entries = [
        EntryState(
            doc_id=r.doc_id,
            section=r.section,
            note=r.note,
            title=r.title,
            added_by=r.added_by,
            added_at=_aware(r.added_at),
        )
        for r in conn.execute(
            select(documents)
            .where(documents.c.compilation_id == compilation_id)
            .order_by(documents.c.position)
        )
    ]
    excluded = conn.execute(
        select(excludes.c.doc_id)
        .where(excludes.c.compilation_id == compilation_id)
        .order_by(excludes.c.doc_id)
    ).scalars()
    return CompilationState(
        title=row["title"],
        description=row["description"],
        query=row["query"],
        status=row["status"],
        order_rule=row["order_rule"],
        sections=list(section_names),
        entries=entries,
        excludes=list(excluded),
    )


def write_state(conn: Connection, compilation_id: int, state: CompilationState) -> None:
    """Make the stored compilation equal ``state`` (children rewritten, version untouched)."""
    conn.execute(
        update(compilations)
        .where(compilations.c.id == compilation_id)
        .values(
            title=state.title,
            description=state.description,
            query=state.query,
            status=state.status,
            order_rule=state.order_rule,
        )
    )
    for table in (sections, documents, excludes):
        conn.execute(delete(table).where(table.c.compilation_id == compilation_id))
    if state.sections:
        conn.execute(
            insert(sections),
            [
                {"compilation_id": compilation_id, "name": name, "position": i}
                for i, name in enumerate(state.sections)
            ],
        )
    if state.entries:
        conn.execute(
            insert(documents),
            [
                {
                    "compilation_id": compilation_id,
                    "doc_id": e.doc_id,
                    "position": i,
                    "section": e.section,
                    "note": e.note,
                    "title": e.title,
                    "added_by": e.added_by,
                    "added_at": e.added_at,
                }
                for i, e in enumerate(state.entries)
            ],
        )
    if state.excludes:
        conn.execute(
            insert(excludes),
            [{"compilation_id": compilation_id, "doc_id": d} for d in sorted(set(state.excludes))],
        )


def delete_compilation(conn: Connection, compilation_id: int) -> None:
    for table in _CHILDREN:
        conn.execute(delete(table).where(table.c.compilation_id == compilation_id))
    conn.execute(delete(compilations).where(compilations.c.id == compilation_id))


def list_compilations(
    conn: Connection, statuses: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Summary rows (with document and pending-proposal counts), newest change first."""
    doc_count = (
        select(func.count())
        .where(documents.c.compilation_id == compilations.c.id)
        .scalar_subquery()
    )
    pending = (
        select(func.count())
        .where(
            and_(proposals.c.compilation_id == compilations.c.id, proposals.c.status == "pending")
        )
        .scalar_subquery()
    )
    statement = select(
        compilations.c.id,
        compilations.c.title,
        compilations.c.status,
        compilations.c.version,
        compilations.c.updated_by,
        compilations.c.updated_at,
        doc_count.label("documents"),
        pending.label("pending_proposals"),
    ).order_by(compilations.c.updated_at.desc(), compilations.c.id.desc())
    if statuses is not None:
        statement = statement.where(compilations.c.status.in_(list(statuses)))
    rows = [dict(r) for r in conn.execute(statement).mappings()]
    for row in rows:
        row["updated_at"] = _aware(row["updated_at"])
    return rows


def standing_queries(conn: Connection, statuses: Sequence[str]) -> list[tuple[int, dict[str, Any]]]:
    """(id, query) of every compilation in ``statuses``, for living compilations."""
    rows = conn.execute(
        select(compilations.c.id, compilations.c.query)
        .where(compilations.c.status.in_(list(statuses)))
        .order_by(compilations.c.id)
    )
    return [(int(r.id), dict(r.query)) for r in rows]


# --- versions -----------------------------------------------------------------------------


def insert_version(
    conn: Connection,
    compilation_id: int,
    version: int,
    author: str,
    action: str,
    state: CompilationState,
) -> None:
    conn.execute(
        insert(versions).values(
            compilation_id=compilation_id,
            version=version,
            author=author,
            created_at=now(),
            action=action,
            snapshot=None,
            state=state.to_json(),
        )
    )


def list_versions(conn: Connection, compilation_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(
            versions.c.version,
            versions.c.author,
            versions.c.created_at,
            versions.c.action,
            versions.c.snapshot,
        )
        .where(versions.c.compilation_id == compilation_id)
        .order_by(versions.c.version.desc())
    ).mappings()
    return [{**dict(r), "created_at": _aware(r["created_at"])} for r in rows]


def version_state(
    conn: Connection, compilation_id: int, version: int | None = None, snapshot: str | None = None
) -> tuple[int, CompilationState] | None:
    """The state recorded by a version, found by number or by snapshot name."""
    statement = select(versions.c.version, versions.c.state).where(
        versions.c.compilation_id == compilation_id
    )
    if version is not None:
        statement = statement.where(versions.c.version == version)
    if snapshot is not None:
        statement = statement.where(versions.c.snapshot == snapshot)
    row = conn.execute(statement.order_by(versions.c.version.desc()).limit(1)).first()
    if row is None:
        return None
    return int(row.version), CompilationState.from_json(dict(row.state))


def name_version(conn: Connection, compilation_id: int, version: int, name: str) -> None:
    conn.execute(
        update(versions)
        .where(and_(versions.c.compilation_id == compilation_id, versions.c.version == version))
        .values(snapshot=name)
    )


def snapshot_taken(conn: Connection, compilation_id: int, name: str) -> bool:
    return (
        conn.execute(
            select(versions.c.version).where(
                and_(versions.c.compilation_id == compilation_id, versions.c.snapshot == name)
            )
        ).first()
        is not None
    )


# --- proposals ----------------------------------------------------------------------------


def known_doc_ids(conn: Connection, compilation_id: int) -> set[str]:
    """Ids already included, excluded or proposed (in any state): never proposed again."""
    known: set[str] = set()
    for table in (documents, excludes, proposals):
        known.update(
            conn.execute(
                select(table.c.doc_id).where(table.c.compilation_id == compilation_id)
            ).scalars()
        )
    return known


def insert_proposals(conn: Connection, rows: Iterable[dict[str, Any]]) -> int:
    batch = [{**r, "status": "pending", "proposed_at": now()} for r in rows]
    if batch:
        conn.execute(insert(proposals), batch)
    return len(batch)


def list_proposals(
    conn: Connection, compilation_id: int, status: str | None
) -> list[dict[str, Any]]:
    statement = select(proposals).where(proposals.c.compilation_id == compilation_id)
    if status is not None:
        statement = statement.where(proposals.c.status == status)
    rows = conn.execute(statement.order_by(proposals.c.proposed_at, proposals.c.doc_id))
    found = []
    for r in rows.mappings():
        row = dict(r)
        row["proposed_at"] = _aware(row["proposed_at"])
        row["decided_at"] = _aware(row["decided_at"]) if row["decided_at"] else None
        found.append(row)
    return found


def proposal_row(conn: Connection, compilation_id: int, doc_id: str) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(proposals).where(
                and_(proposals.c.compilation_id == compilation_id, proposals.c.doc_id == doc_id)
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def decide_proposal(
    conn: Connection, compilation_id: int, doc_id: str, status: str, author: str
) -> bool:
    """Mark a pending proposal accepted or rejected; False if it was not pending."""
    result = conn.execute(
        update(proposals)
        .where(
            and_(
                proposals.c.compilation_id == compilation_id,
                proposals.c.doc_id == doc_id,
                proposals.c.status == "pending",
            )
        )
        .values(status=status, decided_by=author, decided_at=now())
    )
    return bool(result.rowcount == 1)
