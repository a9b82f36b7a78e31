"""Stored document embeddings for the dense ranking stage: one vector per (model, document id),
tagged with the hash of the exact text it embedded.

The vectors live in the relational database (``dense_vectors`` table, SQLite under ``data_dir``
or PostgreSQL), not in a loose .npy file: every batch is one transaction, so an interrupted
`gongkai index embed` keeps what it finished and never leaves a torn file; the API workers and
the CLI share one store; and the editorial database already has a backup story. Search loads
the whole table once into a numpy matrix (100k x 384 float32 = 150 MB) and ranks by brute-force
cosine, which for that size is a few milliseconds.

A vector counts only for a document that is in the index now *and* whose current text has the
same hash: vectors of dropped documents and of changed ones are never used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import (
    Column,
    Engine,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    delete,
    func,
    insert,
    inspect,
    select,
)
from sqlalchemy.engine import Connection

from analysis.embeddings import Embedder, Vectors, passage_text, text_hash
from gongkai.database import sqlite_engine
from gongkai.document import Document

metadata = MetaData()

dense_vectors = Table(
    "dense_vectors",
    metadata,
    Column("model", String(128), nullable=False),
    Column("doc_id", String(256), nullable=False),
    Column("text_hash", String(64), nullable=False),
    # float32, little-endian, `dim` values.
    Column("vector", LargeBinary, nullable=False),
    PrimaryKeyConstraint("model", "doc_id"),
)

# Rows per statement when a whole batch is written or ids are deleted.
_CHUNK = 500


@dataclass(frozen=True)
class VectorRow:
    doc_id: str
    text_hash: str
    vector: Vectors


class VectorIndex:
    """Every stored vector of one model in memory; brute-force cosine (vectors are unit length)."""

    def __init__(self, ids: list[str], hashes: list[str], matrix: Vectors) -> None:
        self.ids = ids
        self.hashes = hashes
        self.matrix = matrix
        self._position = {doc_id: i for i, doc_id in enumerate(ids)}

    def __len__(self) -> int:
        return len(self.ids)

    def position(self, doc_id: str) -> int | None:
        return self._position.get(doc_id)

    def hash_of(self, doc_id: str) -> str | None:
        i = self._position.get(doc_id)
        return None if i is None else self.hashes[i]

    def scores(self, query: Vectors) -> Vectors:
        """Cosine of ``query`` with every stored vector, in `ids` order."""
        return np.asarray(self.matrix @ query, dtype=np.float32)

    def top(self, scores: Vectors, k: int) -> list[tuple[str, float]]:
        """The ``k`` best (id, cosine) of `scores`, best first, ties by id."""
        if k <= 0 or not self.ids:
            return []
        k = min(k, len(self.ids))
        best = np.argpartition(-scores, k - 1)[:k]
        ranked = sorted(best.tolist(), key=lambda i: (-float(scores[i]), self.ids[i]))
        return [(self.ids[i], float(scores[i])) for i in ranked]

    def score_of(self, scores: Vectors, doc_id: str) -> float | None:
        i = self._position.get(doc_id)
        return None if i is None else float(scores[i])


class VectorStore:
    """The ``dense_vectors`` rows of one model."""

    def __init__(self, engine: Engine, model: str) -> None:
        self.engine = engine
        self.model = model
        # The table is made by the first write (`gongkai index embed`): a server that only
        # reads never changes the database (a read-only or full disk must not stop it).
        self._table_exists = False

    def _exists(self) -> bool:
        if not self._table_exists:
            self._table_exists = inspect(self.engine).has_table(dense_vectors.name)
        return self._table_exists

    def _create(self) -> None:
        if not self._table_exists:
            metadata.create_all(self.engine)
            self._table_exists = True

    def count(self) -> int:
        if not self._exists():
            return 0
        with self.engine.connect() as conn:
            query = select(func.count()).where(dense_vectors.c.model == self.model)
            return int(conn.execute(query).scalar_one())

    def hashes(self) -> dict[str, str]:
        """doc id -> hash of the text its vector embedded."""
        if not self._exists():
            return {}
        query = select(dense_vectors.c.doc_id, dense_vectors.c.text_hash).where(
            dense_vectors.c.model == self.model
        )
        with self.engine.connect() as conn:
            return {row.doc_id: row.text_hash for row in conn.execute(query)}

    def put(self, rows: Sequence[VectorRow]) -> None:
        """Add or replace ``rows`` in one transaction."""
        if not rows:
            return
        self._create()
        values = [
            {
                "model": self.model,
                "doc_id": row.doc_id,
                "text_hash": row.text_hash,
                "vector": np.asarray(row.vector, dtype="<f4").tobytes(),
            }
            for row in rows
        ]
        with self.engine.begin() as conn:
            # Delete then insert: portable across SQLite and PostgreSQL (no dialect upsert).
            self._delete(conn, [row.doc_id for row in rows])
            conn.execute(insert(dense_vectors), values)

    def delete(self, ids: Sequence[str]) -> int:
        if not self._exists():
            return 0
        with self.engine.begin() as conn:
            self._delete(conn, ids)
        return len(ids)

    def delete_other_models(self) -> int:
        """Remove every vector of another model (one the code no longer embeds with); returns
        how many. Vectors of one model never rank with another's, so they only take room."""
        if not self._exists():
            return 0
        with self.engine.begin() as conn:
            done = conn.execute(delete(dense_vectors).where(dense_vectors.c.model != self.model))
        return int(done.rowcount or 0)

    def _delete(self, conn: Connection, ids: Sequence[str]) -> None:
        for start in range(0, len(ids), _CHUNK):
            chunk = list(ids[start : start + _CHUNK])
            conn.execute(
                delete(dense_vectors).where(
                    dense_vectors.c.model == self.model, dense_vectors.c.doc_id.in_(chunk)
                )
            )

    def load(self) -> VectorIndex:
        """All vectors of this model, read once (ids sorted, so the order is stable)."""
        if not self._exists():
            return VectorIndex([], [], np.zeros((0, 0), dtype=np.float32))
        query = (
            select(dense_vectors.c.doc_id, dense_vectors.c.text_hash, dense_vectors.c.vector)
            .where(dense_vectors.c.model == self.model)
            .order_by(dense_vectors.c.doc_id)
        )
        ids: list[str] = []
        hashes: list[str] = []
        blobs: list[bytes] = []
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                ids.append(row.doc_id)
                hashes.append(row.text_hash)
                blobs.append(bytes(row.vector))
        if not blobs:
            return VectorIndex([], [], np.zeros((0, 0), dtype=np.float32))
        matrix = np.frombuffer(b"".join(blobs), dtype="<f4").astype(np.float32)
        return VectorIndex(ids, hashes, matrix.reshape(len(ids), -1))


def cache_store(directory: Path, model: str) -> VectorStore:
    """A store in its own SQLite file under ``directory`` (the evaluation's cache, which
    outlives any one data dir)."""
    directory.mkdir(parents=True, exist_ok=True)
    return VectorStore(sqlite_engine(f"sqlite:///{directory / 'vectors.sqlite'}"), model)


@dataclass(frozen=True)
class EmbedReport:
    embedded: int
    unchanged: int
    removed: int


def embed_documents(
    store: VectorStore,
    embedder: Embedder,
    docs: Iterable[Document],
    *,
    batch_size: int = 16,
    prune: bool = False,
    on_pending: Callable[[int], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> EmbedReport:
    """Embed every document of ``docs`` whose current text has no vector in ``store`` yet.

    Each batch is written in its own transaction, so an interrupted run keeps what it did and
    the next run resumes. ``prune`` deletes the vectors of ids not among ``docs`` (documents
    dropped from the index) and those of other models (`VectorStore.delete_other_models`).
    ``on_pending(n)`` says how many will be embedded; ``on_batch(n)`` is called after each
    batch is stored.
    """
    stored = store.hashes()
    seen: set[str] = set()
    pending: list[tuple[str, str, str]] = []
    unchanged = 0
    for doc in docs:
        if doc.id in seen:
            continue
        seen.add(doc.id)
        text = passage_text(doc)
        digest = text_hash(store.model, text)
        if stored.get(doc.id) == digest:
            unchanged += 1
        else:
            pending.append((doc.id, digest, text))
    if on_pending:
        on_pending(len(pending))
    for start in range(0, len(pending), batch_size):
        batch = pending[start : start + batch_size]
        vectors = embedder.embed_passages([text for _, _, text in batch])
        store.put([VectorRow(i, h, v) for (i, h, _), v in zip(batch, vectors, strict=True)])
        if on_batch:
            on_batch(len(batch))
    removed = 0
    if prune:
        stale = sorted(set(stored) - seen)
        removed = store.delete(stale) if stale else 0
        removed += store.delete_other_models()
    return EmbedReport(embedded=len(pending), unchanged=unchanged, removed=removed)


def copy_vectors(source: VectorStore, target: VectorStore, docs: Iterable[Document]) -> int:
    """Copy into ``target`` the vectors ``source`` holds for the current text of ``docs``
    (the evaluation fills an index's store from its cache this way); returns how many."""
    vectors = source.load()
    rows = []
    for doc in docs:
        digest = text_hash(source.model, passage_text(doc))
        i = vectors.position(doc.id)
        if i is not None and vectors.hashes[i] == digest:
            rows.append(VectorRow(doc.id, digest, vectors.matrix[i]))
    for start in range(0, len(rows), _CHUNK):
        target.put(rows[start : start + _CHUNK])
    return len(rows)
