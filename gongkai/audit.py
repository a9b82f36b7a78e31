"""The audit log: one row per write (who, what, which target, when, state before and after).

Rows are only ever inserted, never updated or deleted by the application. Writers pass the
connection of their own transaction when they have one, so a change and its audit row commit or
roll back together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    CursorResult,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    select,
)

metadata = MetaData()

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(100), nullable=False),
    Column("target", String(500), nullable=False),
    Column("before", JSON, nullable=True),
    Column("after", JSON, nullable=True),
    Index("ix_audit_log_actor", "actor"),
    Index("ix_audit_log_action", "action"),
    Index("ix_audit_log_target", "target"),
)

# Long values are cut so one huge field cannot bloat the log; the ids are what matter.
MAX_TEXT = {"actor": 200, "action": 100, "target": 500}


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "before": self.before,
            "after": self.after,
        }


class AuditLog:
    """Append and query audit entries in the relational database of ``engine``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)

    def record(
        self,
        actor: str,
        action: str,
        target: str,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        *,
        conn: Connection | None = None,
    ) -> int:
        """Append one entry and return its id; inside ``conn``'s transaction when given."""
        row = {
            "at": datetime.now(UTC),
            "actor": actor[: MAX_TEXT["actor"]],
            "action": action[: MAX_TEXT["action"]],
            "target": target[: MAX_TEXT["target"]],
            "before": before,
            "after": after,
        }
        if conn is not None:
            return inserted_id(conn.execute(insert(audit_log).values(row)))
        with self.engine.begin() as own:
            return inserted_id(own.execute(insert(audit_log).values(row)))

    def entries(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: datetime | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Newest first; ``before_id`` pages backwards (pass the last id of the previous page).
        ``action`` ending in ``.`` matches a family of actions, e.g. ``key.``."""
        query = select(audit_log).order_by(audit_log.c.id.desc()).limit(max(0, limit))
        if actor is not None:
            query = query.where(audit_log.c.actor == actor)
        if action is not None:
            if action.endswith("."):
                query = query.where(audit_log.c.action.startswith(action, autoescape=True))
            else:
                query = query.where(audit_log.c.action == action)
        if target is not None:
            query = query.where(audit_log.c.target == target)
        if since is not None:
            query = query.where(audit_log.c.at >= since)
        if before_id is not None:
            query = query.where(audit_log.c.id < before_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            AuditEntry(
                id=int(r["id"]),
                at=as_utc(r["at"]),
                actor=r["actor"],
                action=r["action"],
                target=r["target"],
                before=r["before"],
                after=r["after"],
            )
            for r in rows
        ]


def inserted_id(result: CursorResult[Any]) -> int:
    """The integer primary key of the row an INSERT just made."""
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes for what was stored as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
