"""Shared fixtures: the project tokeniser, the real-data folder, and the search backends.

The OpenSearch node is real (tests/engine/node.py starts it from Maven Central jars), started
once per session and only when a test marked `engine` asks for it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from analysis.tokenizer import GovTokenizer
from engines.base import SearchBackend
from gongkai.document import Document
from gongkai.settings import Settings

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    return Path(os.environ.get("GONGKAI_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or a skip that says why."""
    path = shared_data_dir()
    if not (path / "README.md").exists():
        pytest.skip(f"real data not found at {path} (set GONGKAI_SHARED_DATA to its folder)")
    return path


@pytest.fixture(scope="session")
def lawrefbook(shared_data: Path) -> list[Document]:
    """The 1,403 real laws of lawrefbook.dev.jsonl, read once per session by the JSONL ingestor."""
    from ingest.jsonl import JsonlIngestor

    reader = JsonlIngestor(Settings(data_dir=Path("unused")))
    path = shared_data / "lawrefbook.dev.jsonl"
    return [d for d in reader.ingest(path) if isinstance(d, Document)]


@pytest.fixture(scope="session")
def tokenizer() -> GovTokenizer:
    return GovTokenizer()


@pytest.fixture(scope="session")
def opensearch_url() -> Iterator[str]:
    """URL of a real OpenSearch node: GONGKAI_TEST_OPENSEARCH_URL, or one started here."""
    from tests.engine.node import opensearch_node_fixture

    yield from opensearch_node_fixture()


def cluster_settings(kind: str, url: str, tmp_path: Path) -> Settings:
    # A unique alias per test keeps tests independent on one shared node.
    return Settings(
        engine=kind,  # type: ignore[arg-type]
        engine_url=url,
        data_dir=tmp_path,
        index_name=f"gongkai-test-{uuid.uuid4().hex[:10]}",
    )


ENGINE_PARAMS = [
    pytest.param("embedded", id="embedded"),
    pytest.param("opensearch", id="opensearch", marks=pytest.mark.engine),
    pytest.param("elasticsearch", id="elasticsearch", marks=pytest.mark.engine),
]


def make_settings(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for a test on engine ``kind`` (starting the OpenSearch node if needed)."""
    if kind == "embedded":
        return Settings(data_dir=tmp_path)
    if kind == "opensearch":
        return cluster_settings(kind, request.getfixturevalue("opensearch_url"), tmp_path)
    es_url = os.environ.get("GONGKAI_TEST_ELASTICSEARCH_URL")
    if not es_url:
        pytest.skip("GONGKAI_TEST_ELASTICSEARCH_URL not set: no Elasticsearch 8/9 server here")
    return cluster_settings(kind, es_url, tmp_path)


@pytest.fixture(params=ENGINE_PARAMS)
def engine_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    return make_settings(request.param, request, tmp_path)


@pytest.fixture
def backend(engine_settings: Settings) -> Iterator[SearchBackend]:
    """An empty backend of each engine kind, dropped after the test."""
    from engines import make_backend

    engine = make_backend(engine_settings)
    try:
        yield engine
    finally:
        engine.drop()
        engine.close()


DATABASE_PARAMS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql"),
]


@pytest.fixture(params=DATABASE_PARAMS)
def db_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings whose relational database is a fresh SQLite file, or a fresh PostgreSQL database
    on the server at GONGKAI_TEST_DATABASE_URL (started by scripts/test.sh; skipped if unset)."""
    if request.param == "sqlite":
        yield Settings(data_dir=tmp_path)
        return
    from tests.support.postgres import fresh_database

    admin_url = os.environ.get("GONGKAI_TEST_DATABASE_URL")
    if not admin_url:
        pytest.skip("GONGKAI_TEST_DATABASE_URL not set: no PostgreSQL server for this run")
    with fresh_database(admin_url) as url:
        yield Settings(data_dir=tmp_path, database_url=url)
