"""Batch search for librarians and researchers: many queries in, one CSV of hits out."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from search_api.service import SearchService

COLUMNS = (
    "query",
    "rank",
    "id",
    "title",
    "score",
    "agency",
    "doc_number",
    "doc_type",
    "date_written",
    "date_published",
    "validity",
    "url",
)


def read_queries(path: Path) -> Iterator[str]:
    """Queries from a text file (one a line) or a CSV with a ``query`` column (else its first)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        if path.suffix.lower() != ".csv":
            yield from (line.strip() for line in handle if line.strip())
            return
        rows = csv.reader(handle)
        header = next(rows, [])
        column = header.index("query") if "query" in header else 0
        if "query" not in header and header and header[0].strip():
            yield header[0].strip()  # no header row: the first row is a query too
        for row in rows:
            if len(row) > column and row[column].strip():
                yield row[column].strip()


def write_hits(
    service: SearchService,
    queries: Iterator[str],
    out: TextIO,
    limit: int = 20,
    on_query: Callable[[], None] | None = None,
) -> int:
    """Search each query and write its hits as CSV rows; returns the number of rows."""
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    rows = 0
    for query in queries:
        for rank, hit in enumerate(service.search(query, limit=limit).hits, start=1):
            writer.writerow(
                [
                    query,
                    rank,
                    hit.id,
                    hit.title,
                    hit.score,
                    "、".join(hit.agency),
                    hit.doc_number or "",
                    hit.doc_type or "",
                    hit.date_written or "",
                    hit.date_published or "",
                    hit.validity,
                    hit.url or "",
                ]
            )
            rows += 1
        if on_query:
            on_query()
    return rows
