"""Tests for ``engines.tantivy_backend`` beyond the shared contract: a long ingest commits as
it goes, so the writer's memory does not grow with the corpus (issue 9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engines import tantivy_backend
from engines.tantivy_backend import TantivyBackend
from gongkai.document import AnalyzedDocument, Document


def analysed(i: int) -> AnalyzedDocument:
    return AnalyzedDocument(
        document=Document(id=f"d{i}", title=f"标题{i}", body="正文"),
        title_tokens=["标题"],
        body_tokens=["正文"],
    )


def test_long_ingest_commits_every_so_many_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tantivy_backend, "COMMIT_EVERY_DOCS", 3)
    writer = TantivyBackend(tmp_path)
    writer.ensure_index()

    def committed() -> int:
        # A new reader each time: it sees exactly what has been committed.
        reader = TantivyBackend(tmp_path)
        try:
            return reader.count()
        finally:
            reader.close()

    writer.index([analysed(0), analysed(1)])
    assert committed() == 0  # below the threshold: nothing committed yet
    writer.index([analysed(2)])
    assert committed() == 3  # committed without a refresh
    writer.index([analysed(3)])
    assert committed() == 3
    writer.refresh()
    assert committed() == 4
    writer.close()
