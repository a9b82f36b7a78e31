"""Fixtures for compilation tests: the sample documents in a real embedded index, and the
compilation service on a fresh SQLite or PostgreSQL database (`db_settings`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from analysis.analyzer import DocumentAnalyzer
from analysis.tokenizer import GovTokenizer
from compilations.service import CompilationService
from engines import make_backend
from engines.base import SearchBackend
from gongkai.database import create_database_engine
from gongkai.document import Document
from gongkai.pipeline import IngestPipeline
from gongkai.settings import Settings

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "sample_docs.jsonl"


def sample_documents() -> list[Document]:
    with SAMPLES.open(encoding="utf-8") as lines:
        return [Document.model_validate(json.loads(line)) for line in lines if line.strip()]


def index_documents(backend: SearchBackend, tokenizer: GovTokenizer, docs: list[Document]) -> None:
    IngestPipeline(DocumentAnalyzer(tokenizer), backend).run(docs)


@pytest.fixture
def search_backend(db_settings: Settings, tokenizer: GovTokenizer) -> Iterator[SearchBackend]:
    """The embedded index of ``db_settings.data_dir`` holding the 40 sample documents."""
    backend = make_backend(db_settings)
    index_documents(backend, tokenizer, sample_documents())
    yield backend
    backend.close()


@pytest.fixture
def service(db_settings: Settings, search_backend: SearchBackend) -> Iterator[CompilationService]:
    engine = create_database_engine(db_settings)
    yield CompilationService(engine, search_backend)
    engine.dispose()
