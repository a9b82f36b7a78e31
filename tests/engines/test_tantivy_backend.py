"""Tests for ``engines.tantivy_backend`` beyond the shared contract: a long ingest commits as
it goes, so the writer's memory does not grow with the corpus (issue 9); an index built before
the in-force column (mapping v5) still ranks and takes new documents."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from engines import tantivy_backend
from engines.base import SearchQuery
from engines.tantivy_backend import IN_FORCE_COLUMN, TantivyBackend
from gongkai.document import AnalyzedDocument, Document, Validity
from mappings import load_mapping


def analysed(i: int, body: str = "正文", validity: str = "unknown") -> AnalyzedDocument:
    return AnalyzedDocument(
        document=Document(
            id=f"d{i}", title=f"标题{i}", body=body, validity=Validity(status=validity)
        ),
        title_tokens=["标题"],
        body_tokens=body.split(),
    )


def test_an_index_without_the_in_force_column_keeps_the_bonus_and_takes_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Build the index with the mapping minus the column, as mapping v4 had it.
    spec = load_mapping("embedded")
    older = {**spec, "fields": [f for f in spec["fields"] if f["name"] != IN_FORCE_COLUMN]}
    monkeypatch.setattr(tantivy_backend, "load_mapping", lambda kind: older)
    writer = TantivyBackend(tmp_path)
    writer.ensure_index()
    writer.index([analysed(1, "低保 低保", "废止"), analysed(2, "低保")])
    writer.refresh()
    writer.close()
    monkeypatch.undo()

    backend = TantivyBackend(tmp_path)
    plain = backend.search(SearchQuery(terms=["低保"]))
    assert [h.id for h in plain.hits] == ["d1", "d2"]
    preferred = backend.search(SearchQuery(terms=["低保"], in_force_boost=20.0))
    assert [h.id for h in preferred.hits] == ["d2", "d1"]
    backend.index([analysed(3, "低保 低保 低保")])  # written without the column it lacks
    backend.refresh()
    preferred = backend.search(SearchQuery(terms=["低保"], in_force_boost=20.0))
    assert [h.id for h in preferred.hits] == ["d3", "d2", "d1"]
    backend.close()


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


@pytest.mark.parametrize("one_pass", [True, False], ids=["one-pass", "binding"])
def test_facets_agree_across_threads_and_after_close(tmp_path: Path, one_pass: bool) -> None:
    # With the binding, the facet pass runs on the backend's own threads while the page is
    # searched; in one pass (native) facets come with the hits. Searches from several threads
    # at once each get their own counts, and a closed backend is usable again.
    backend = TantivyBackend(tmp_path, one_pass=one_pass)
    backend.ensure_index()
    backend.index(
        [
            analysed(i, "低保 救助" if i % 3 else "低保", "废止" if i % 2 else "有效")
            for i in range(30)
        ]
    )
    backend.refresh()

    def counts(terms: list[str]) -> dict[str, int]:
        result = backend.search(SearchQuery(terms=terms, facets=["validity"], limit=5))
        return {f.value: f.count for f in result.facets["validity"]}

    expected = {"低保": {"废止": 15, "有效": 15}, "救助": {"废止": 10, "有效": 10}}
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda term: (term, counts([term])), ["低保", "救助"] * 10))
    assert all(found == expected[term] for term, found in answers)
    backend.close()
    assert counts(["救助"]) == expected["救助"]
    backend.close()
