"""Where exported documents come from: a search's results (with its filters) or a compilation.

Both give an `ExportItem` iterator that fetches documents page by page, so an export never
holds more than one page of results.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from compilations.export.records import ExportItem
from compilations.models import CompilationDocument
from engines.base import SearchBackend, SearchHit
from search_api.queries import build_search_query
from search_api.service import SearchService

# Most documents one query export gives (the header/notice says when more matched). Paging is
# by the engines' search_after, which has no depth limit; the cap bounds the work one anonymous
# request can ask of the server.
QUERY_EXPORT_CAP = 100_000
# Hits fetched per engine request: larger than a search page (fewer round trips), small
# enough that a page of full documents stays a few MB.
EXPORT_PAGE_SIZE = 500


@dataclass(frozen=True)
class SearchRequest:
    """A search as /search takes it: text, filters, years and order."""

    q: str = ""
    filters: dict[str, list[str]] | None = None
    year_from: int | None = None
    year_to: int | None = None
    sort: str = "relevance"

    def describe(self) -> str:
        """The request in words, for the booklet's cover."""
        parts = [self.q.strip()] if self.q.strip() else []
        for name, values in sorted((self.filters or {}).items()):
            if values:
                parts.append(f"{name}={'|'.join(values)}")
        if self.year_from or self.year_to:
            parts.append(f"year={self.year_from or ''}-{self.year_to or ''}")
        return "; ".join(parts) or "（全部文件）"


@dataclass
class QueryExport:
    """The results of a search as export items; ``total`` is known before iterating."""

    total: int
    items: Iterator[ExportItem]
    cap: int = QUERY_EXPORT_CAP

    @property
    def truncated(self) -> bool:
        return self.total > self.cap

    @property
    def count(self) -> int:
        return min(self.total, self.cap)


def query_export(
    service: SearchService,
    request: SearchRequest,
    page_size: int = EXPORT_PAGE_SIZE,
    cap: int = QUERY_EXPORT_CAP,
) -> QueryExport:
    """Run the search's first page now (so a bad query or a down engine fails before any
    output is made) and page through the rest lazily with ``search_after`` (each page resumes
    after the last hit's sort values: no offset, no depth limit), up to ``cap`` results."""
    base = build_search_query(
        request.q,
        service.tokenizer,
        service.thesaurus,
        filters=request.filters,
        year_from=request.year_from,
        year_to=request.year_to,
        sort=request.sort,
        max_query_chars=service.max_query_chars,
    )

    def page(after: list[float | int | str] | None, limit: int) -> tuple[int, list[SearchHit]]:
        query = base.model_copy(update={"offset": 0, "limit": limit, "search_after": after})
        result = service.backend.search(query)
        return result.total, result.hits

    total, first = page(None, min(page_size, cap))
    count = min(total, cap)

    def items() -> Iterator[ExportItem]:
        hits, sent = first, 0
        while hits:
            for hit in hits[: count - sent]:
                yield ExportItem(doc_id=hit.id, document=hit.document)
            sent += len(hits)
            if sent >= count:
                return
            hits = page(hits[-1].sort_values, min(page_size, count - sent))[1]

    return QueryExport(total=total, items=items(), cap=cap)


def compilation_items(
    rows: Iterable[CompilationDocument],
    backend: SearchBackend,
    known_titles: dict[str, str] | None = None,
) -> Iterator[ExportItem]:
    """A compilation's documents in its order, fetched one at a time from the index; those the
    index no longer has come through as missing (with the title the compilation remembers)."""
    titles = known_titles or {}
    for row in rows:
        document = None if row.missing else backend.get(row.doc_id)
        yield ExportItem(
            doc_id=row.doc_id,
            document=document,
            section=row.section,
            note=row.note or "",
            known_title=titles.get(row.doc_id, ""),
        )
