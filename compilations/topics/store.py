"""Topic builds in the relational database, fitted models as joblib files under data_dir.

Tables (this module's own ``MetaData``):

- ``topic_sets``: one row per named set ("all" = the whole index, or a query's results): the
  current build and the next unused topic id, so ids are never reused within a set;
- ``topic_builds``: each build's method, k, sizes, parameters and model file;
- ``topics``: per build, each topic's stable id, model cluster, label, terms, size and
  representative documents;
- ``topic_documents``: per build, each document's topic, closeness to it and year;
- ``topic_years``: per build, documents per topic per year (date_written, else date_published).

A build keeps the previous one (matching reads its members) and drops older ones. The model
file is read back with joblib (pickle): only files this store wrote under data_dir are loaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
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

from compilations.topics.errors import NoTopicModel, TopicNotFound

metadata = MetaData()

topic_sets = Table(
    "topic_sets",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("current_build_id", Integer, nullable=True),
    Column("next_topic_id", Integer, nullable=False, default=1),
)

topic_builds = Table(
    "topic_builds",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("set_name", String(200), ForeignKey("topic_sets.name"), nullable=False, index=True),
    Column("query", Text, nullable=True),
    Column("method", String(20), nullable=False),
    Column("k", Integer, nullable=True),
    Column("n_topics", Integer, nullable=False),
    Column("n_documents", Integer, nullable=False),
    Column("n_unassigned", Integer, nullable=False),
    Column("params", JSON, nullable=False),
    Column("model_file", String(500), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("complete", Boolean, nullable=False, default=False),
)

topics = Table(
    "topics",
    metadata,
    Column(
        "build_id",
        Integer,
        ForeignKey("topic_builds.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("topic_id", Integer, primary_key=True),
    Column("cluster", Integer, nullable=False),
    Column("label", String(300), nullable=False),
    Column("terms", JSON, nullable=False),
    Column("size", Integer, nullable=False),
    Column("representatives", JSON, nullable=False),
    Column("matched_similarity", Float, nullable=True),
)

topic_documents = Table(
    "topic_documents",
    metadata,
    Column(
        "build_id",
        Integer,
        ForeignKey("topic_builds.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("doc_id", String(200), primary_key=True),
    Column("topic_id", Integer, nullable=True),
    Column("score", Float, nullable=False),
    Column("year", Integer, nullable=True),
    Index("ix_topic_documents_topic", "build_id", "topic_id", "score"),
)

topic_years = Table(
    "topic_years",
    metadata,
    Column(
        "build_id",
        Integer,
        ForeignKey("topic_builds.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("topic_id", Integer, primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("count", Integer, nullable=False),
)

# Rows per INSERT batch (100k assignments in ~50 statements).
INSERT_BATCH = 2000


@dataclass
class TopicRecord:
    topic_id: int
    cluster: int
    label: str
    terms: list[tuple[str, float]]
    size: int
    representatives: list[dict[str, str]]
    matched_similarity: float | None = None


@dataclass
class DocumentAssignment:
    doc_id: str
    topic_id: int | None
    score: float
    year: int | None


@dataclass
class BuildInfo:
    id: int
    set_name: str
    query: str | None
    method: str
    k: int | None
    n_topics: int
    n_documents: int
    n_unassigned: int
    params: dict[str, Any]
    model_file: str
    created_at: datetime
    topics: list[TopicRecord] = field(default_factory=list)


def label_of(terms: Sequence[tuple[str, float]], n: int = 3) -> str:
    return "·".join(t for t, _ in terms[:n]) or "(无标签)"


class TopicStore:
    """Reads and writes topic builds; ``models_dir`` holds the fitted pipelines."""

    def __init__(self, engine: Engine, models_dir: Path) -> None:
        self.engine = engine
        self.models_dir = Path(models_dir)
        metadata.create_all(engine)

    # -- writing a build ----------------------------------------------------------------
    def next_topic_ids(self, set_name: str, count: int) -> list[int]:
        """Reserve ``count`` fresh ids in ``set_name`` (never handed out twice)."""
        with self.engine.begin() as conn:
            # FOR UPDATE: two builds of one set at once must not take the same ids
            # (PostgreSQL; SQLite serialises writers anyway).
            row = conn.execute(
                select(topic_sets.c.next_topic_id)
                .where(topic_sets.c.name == set_name)
                .with_for_update()
            ).first()
            start = row[0] if row else 1
            if row is None:
                conn.execute(insert(topic_sets).values(name=set_name, next_topic_id=start + count))
            else:
                conn.execute(
                    update(topic_sets)
                    .where(topic_sets.c.name == set_name)
                    .values(next_topic_id=start + count)
                )
        return list(range(start, start + count))

    def save_build(
        self,
        *,
        set_name: str,
        query: str | None,
        method: str,
        k: int | None,
        params: dict[str, Any],
        model: dict[str, Any],
        map_data: dict[str, Any],
        topic_records: Sequence[TopicRecord],
        assignments: Iterable[DocumentAssignment],
    ) -> int:
        """Store a complete build, make it current, drop builds older than the previous one."""
        self.models_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC)
        rows = list(assignments)
        with self.engine.begin() as conn:
            known = select(topic_sets.c.name).where(topic_sets.c.name == set_name)
            if conn.execute(known).first() is None:
                conn.execute(insert(topic_sets).values(name=set_name, next_topic_id=1))
            build_id = conn.execute(
                insert(topic_builds)
                .values(
                    set_name=set_name,
                    query=query,
                    method=method,
                    k=k,
                    n_topics=len(topic_records),
                    n_documents=len(rows),
                    n_unassigned=sum(1 for r in rows if r.topic_id is None),
                    params=params,
                    model_file="",
                    created_at=stamp,
                    complete=False,
                )
                .returning(topic_builds.c.id)
            ).scalar_one()
            model_file = self.models_dir / f"{_slug(set_name)}-build-{build_id}.joblib"
            joblib.dump(model, model_file)  # uncompressed: loads faster (assign)
            # The map's sample apart: drawing it must not load the whole model.
            joblib.dump(map_data, _map_file(model_file))
            conn.execute(
                update(topic_builds)
                .where(topic_builds.c.id == build_id)
                .values(model_file=model_file.name, complete=True)
            )
            if topic_records:
                conn.execute(
                    insert(topics),
                    [
                        {
                            "build_id": build_id,
                            "topic_id": t.topic_id,
                            "cluster": t.cluster,
                            "label": t.label,
                            "terms": [[term, round(w, 6)] for term, w in t.terms],
                            "size": t.size,
                            "representatives": t.representatives,
                            "matched_similarity": t.matched_similarity,
                        }
                        for t in topic_records
                    ],
                )
            for start in range(0, len(rows), INSERT_BATCH):
                conn.execute(
                    insert(topic_documents),
                    [
                        {
                            "build_id": build_id,
                            "doc_id": r.doc_id,
                            "topic_id": r.topic_id,
                            "score": float(r.score),
                            "year": r.year,
                        }
                        for r in rows[start : start + INSERT_BATCH]
                    ],
                )
            self._recount_years(conn, build_id)
            previous = conn.execute(
                select(topic_sets.c.current_build_id).where(topic_sets.c.name == set_name)
            ).scalar()
            conn.execute(
                update(topic_sets)
                .where(topic_sets.c.name == set_name)
                .values(current_build_id=build_id)
            )
            stale = conn.execute(
                select(topic_builds.c.id, topic_builds.c.model_file).where(
                    topic_builds.c.set_name == set_name,
                    topic_builds.c.id.not_in([build_id, previous or -1]),
                )
            ).all()
            self._drop_builds(conn, [s.id for s in stale])
        for s in stale:
            if s.model_file:
                (self.models_dir / s.model_file).unlink(missing_ok=True)
                _map_file(self.models_dir / s.model_file).unlink(missing_ok=True)
        if previous is not None:
            # The previous build's members stay in the database for matching; its model is
            # never loaded again.
            old = self._build_row(previous)
            if old is not None and old.model_file:
                (self.models_dir / old.model_file).unlink(missing_ok=True)
                _map_file(self.models_dir / old.model_file).unlink(missing_ok=True)
        return int(build_id)

    @staticmethod
    def _drop_builds(conn: Any, ids: Sequence[int]) -> None:
        if not ids:
            return
        # Explicit deletes: SQLite only cascades with foreign keys on, PostgreSQL always.
        for table in (topic_years, topic_documents, topics):
            conn.execute(delete(table).where(table.c.build_id.in_(ids)))
        conn.execute(delete(topic_builds).where(topic_builds.c.id.in_(ids)))

    @staticmethod
    def _recount_years(conn: Any, build_id: int) -> None:
        conn.execute(delete(topic_years).where(topic_years.c.build_id == build_id))
        counted = conn.execute(
            select(topic_documents.c.topic_id, topic_documents.c.year, func.count())
            .where(
                topic_documents.c.build_id == build_id,
                topic_documents.c.topic_id.is_not(None),
                topic_documents.c.year.is_not(None),
            )
            .group_by(topic_documents.c.topic_id, topic_documents.c.year)
        ).all()
        if counted:
            conn.execute(
                insert(topic_years),
                [
                    {"build_id": build_id, "topic_id": t, "year": y, "count": n}
                    for t, y, n in counted
                ],
            )

    def add_assignments(self, build_id: int, rows: Sequence[DocumentAssignment]) -> int:
        """Add documents to a build (incremental assignment); ids already there are skipped.
        Topic sizes and year counts follow. Returns how many were added."""
        with self.engine.begin() as conn:
            known = {
                d
                for (d,) in conn.execute(
                    select(topic_documents.c.doc_id).where(
                        topic_documents.c.build_id == build_id,
                        topic_documents.c.doc_id.in_([r.doc_id for r in rows]),
                    )
                )
            }
            fresh = {r.doc_id: r for r in rows if r.doc_id not in known}
            if not fresh:
                return 0
            conn.execute(
                insert(topic_documents),
                [
                    {
                        "build_id": build_id,
                        "doc_id": r.doc_id,
                        "topic_id": r.topic_id,
                        "score": float(r.score),
                        "year": r.year,
                    }
                    for r in fresh.values()
                ],
            )
            added: dict[int, int] = {}
            for r in fresh.values():
                if r.topic_id is not None:
                    added[r.topic_id] = added.get(r.topic_id, 0) + 1
            for topic_id, n in added.items():
                conn.execute(
                    update(topics)
                    .where(topics.c.build_id == build_id, topics.c.topic_id == topic_id)
                    .values(size=topics.c.size + n)
                )
            unassigned = sum(1 for r in fresh.values() if r.topic_id is None)
            conn.execute(
                update(topic_builds)
                .where(topic_builds.c.id == build_id)
                .values(
                    n_documents=topic_builds.c.n_documents + len(fresh),
                    n_unassigned=topic_builds.c.n_unassigned + unassigned,
                )
            )
            self._recount_years(conn, build_id)
        return len(fresh)

    # -- reading ------------------------------------------------------------------------
    def _build_row(self, build_id: int) -> BuildInfo | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(topic_builds).where(topic_builds.c.id == build_id)).first()
        if row is None:
            return None
        return BuildInfo(
            id=row.id,
            set_name=row.set_name,
            query=row.query,
            method=row.method,
            k=row.k,
            n_topics=row.n_topics,
            n_documents=row.n_documents,
            n_unassigned=row.n_unassigned,
            params=dict(row.params or {}),
            model_file=row.model_file,
            created_at=row.created_at,
        )

    def current_build_id(self, set_name: str) -> int | None:
        with self.engine.connect() as conn:
            value = conn.execute(
                select(topic_sets.c.current_build_id).where(topic_sets.c.name == set_name)
            ).scalar()
        return int(value) if value is not None else None

    def current_build(self, set_name: str) -> BuildInfo:
        """The current build of ``set_name`` with its topics (largest first)."""
        build_id = self.current_build_id(set_name)
        info = self._build_row(build_id) if build_id is not None else None
        if info is None:
            raise NoTopicModel(
                f"no topics built for set {set_name!r} yet: run `gongkai topics build`"
            )
        info.topics = self.topics_of(info.id)
        return info

    def topics_of(self, build_id: int) -> list[TopicRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(topics)
                .where(topics.c.build_id == build_id)
                .order_by(topics.c.size.desc(), topics.c.topic_id)
            ).all()
        return [
            TopicRecord(
                topic_id=r.topic_id,
                cluster=r.cluster,
                label=r.label,
                terms=[(str(t), float(w)) for t, w in r.terms],
                size=r.size,
                representatives=list(r.representatives),
                matched_similarity=r.matched_similarity,
            )
            for r in rows
        ]

    def topic(self, set_name: str, topic_id: int) -> tuple[BuildInfo, TopicRecord]:
        build = self.current_build(set_name)
        for t in build.topics:
            if t.topic_id == topic_id:
                return build, t
        raise TopicNotFound(f"no topic {topic_id} in the current build of set {set_name!r}")

    def members(self, build_id: int) -> dict[str, int]:
        """Document id -> topic id of every assigned document of a build."""
        with self.engine.connect() as conn:
            return {
                str(d): int(t)
                for d, t in conn.execute(
                    select(topic_documents.c.doc_id, topic_documents.c.topic_id).where(
                        topic_documents.c.build_id == build_id,
                        topic_documents.c.topic_id.is_not(None),
                    )
                )
            }

    def documents_of(
        self, build_id: int, topic_id: int, limit: int = 20, offset: int = 0
    ) -> list[tuple[str, float]]:
        """(document id, closeness) of a topic's members, most central first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(topic_documents.c.doc_id, topic_documents.c.score)
                .where(
                    topic_documents.c.build_id == build_id,
                    topic_documents.c.topic_id == topic_id,
                )
                .order_by(topic_documents.c.score.desc(), topic_documents.c.doc_id)
                .limit(limit)
                .offset(offset)
            ).all()
        return [(str(d), float(s)) for d, s in rows]

    def assigned_ids(self, build_id: int) -> set[str]:
        with self.engine.connect() as conn:
            return {
                d
                for (d,) in conn.execute(
                    select(topic_documents.c.doc_id).where(topic_documents.c.build_id == build_id)
                )
            }

    def year_counts(self, build_id: int) -> dict[int, dict[int, int]]:
        """topic id -> {year: documents}."""
        out: dict[int, dict[int, int]] = {}
        with self.engine.connect() as conn:
            for t, y, n in conn.execute(
                select(topic_years.c.topic_id, topic_years.c.year, topic_years.c.count)
                .where(topic_years.c.build_id == build_id)
                .order_by(topic_years.c.topic_id, topic_years.c.year)
            ):
                out.setdefault(int(t), {})[int(y)] = int(n)
        return out

    def load_model(self, build: BuildInfo) -> dict[str, Any]:
        path = self.models_dir / build.model_file
        if not build.model_file or not path.exists():
            raise NoTopicModel(
                f"the model file of topic build {build.id} is missing ({path}): "
                "run `gongkai topics build` again"
            )
        model: dict[str, Any] = joblib.load(path)
        return model

    def load_map(self, build: BuildInfo) -> dict[str, Any]:
        """The 2-D sample drawn on the topic map (a small file beside the model)."""
        path = _map_file(self.models_dir / build.model_file)
        if not build.model_file or not path.exists():
            raise NoTopicModel(
                f"the map of topic build {build.id} is missing ({path}): "
                "run `gongkai topics build` again"
            )
        data: dict[str, Any] = joblib.load(path)
        return data


def _map_file(model_file: Path) -> Path:
    return model_file.with_suffix(".map.joblib")


def _slug(name: str) -> str:
    """A file-name-safe form of a set name (hex of its UTF-8 beyond plain ASCII)."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in name)
    return f"{safe[:40]}-{name.encode('utf-8').hex()[:16]}" if safe != name else safe
