"""How one embedded search reads the index: the top hits, the number of matches, the facet
counts, and per hit its in-force flag, its id and its stored record.

`OnePass` uses the native extension (``native/src/search.rs``): hits, count and facets come
from a single evaluation of the query. `TwoPasses` uses tantivy's Python binding, which has
no such call: the search and the facet aggregation each evaluate the query, the aggregation
on a thread beside the search. The two answer alike (``tests/engines/test_tantivy_passes.py``);
the embedded backend takes `OnePass` whenever the extension is installed, unless
``Settings.embedded_one_pass`` is off.

At 100k documents a citizen's question matches ~40k of them through ~50 term postings: the
search took ~2.4 ms of CPU and the aggregation another ~2.0 ms, of which ~1.6 ms was
evaluating the query again (issue 9 profile).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, TypeVar

import tantivy

from engines.base import EngineError
from engines.tantivy_query import Node, to_tantivy

try:
    from gongkai_native import IndexSearcher, Snapshot
except ImportError:  # not built here, or built before it had a searcher: `TwoPasses`
    NATIVE_SEARCH = False
else:
    NATIVE_SEARCH = True

# A hit's address in the pass that found it (tantivy's DocAddress, or (segment, doc)).
Address = Any
# A hit's sort key: its score (float) or its date (int).
Key = float | int
T = TypeVar("T")


class SearchPass(Protocol):
    """One search over one snapshot of the index."""

    def top(self, limit: int) -> tuple[list[tuple[Key, Address]], int]:
        """The best ``limit`` hits, best first, and the number of matches."""
        ...

    def aggregations(self) -> dict[str, Any]:
        """tantivy's aggregation result for the facets asked for ({} if none were)."""
        ...

    def in_force(self, addresses: Sequence[Address]) -> list[bool]: ...

    def ids(self, addresses: Sequence[Address]) -> list[str]: ...

    def records(self, addresses: Sequence[Address]) -> Sequence[bytes | str]:
        """The stored ``doc_json`` of each hit (bytes; str in indexes built before v4)."""
        ...


class OnePass:
    """A search through the native extension: facets are counted in the first `top`."""

    def __init__(
        self,
        snapshot: Snapshot,
        tree: Node,
        order_by: str | None,
        aggregations: dict[str, Any] | None,
        in_force_column: str,
    ) -> None:
        self._snapshot = snapshot
        self._query = json.dumps(tree, ensure_ascii=False)
        self._order_by = order_by
        self._pending = json.dumps(aggregations) if aggregations else None
        self._aggregations: dict[str, Any] = {}
        self._in_force_column = in_force_column

    def top(self, limit: int) -> tuple[list[tuple[Key, Address]], int]:
        hits, count, aggregated = self._snapshot.search(
            self._query, limit, order_by=self._order_by, aggregations=self._pending
        )
        if self._pending is not None:
            self._aggregations = json.loads(aggregated or "{}")
            self._pending = None  # a wider window later needs no second count
        return [(key, (segment, doc)) for key, segment, doc in hits], count

    def aggregations(self) -> dict[str, Any]:
        return self._aggregations

    def in_force(self, addresses: Sequence[Address]) -> list[bool]:
        return self._snapshot.bool_values(self._in_force_column, list(addresses))

    def ids(self, addresses: Sequence[Address]) -> list[str]:
        return _present("id", self._snapshot.stored_text("id", list(addresses)))

    def records(self, addresses: Sequence[Address]) -> Sequence[bytes | str]:
        return _present("doc_json", self._snapshot.stored_bytes("doc_json", list(addresses)))


def open_native(path: Path) -> IndexSearcher | None:
    """The native searcher of the index folder ``path``, or None without the extension."""
    return IndexSearcher(path) if NATIVE_SEARCH else None


def _present(field: str, values: list[T | None]) -> list[T]:
    if any(v is None for v in values):
        raise EngineError(f"a hit without its stored {field}: the index is damaged")
    return [v for v in values if v is not None]


class TwoPasses:
    """A search through tantivy's Python binding; the facet pass runs on ``pool``."""

    def __init__(
        self,
        searcher: tantivy.Searcher,
        schema: tantivy.Schema,
        tree: Node,
        order_by: str | None,
        aggregations: dict[str, Any] | None,
        in_force_column: str,
        pool: ThreadPoolExecutor,
    ) -> None:
        self._searcher = searcher
        self._query = to_tantivy(tree, schema)
        self._order_by = order_by
        self._in_force_column = in_force_column
        # tantivy releases the GIL while it searches: the two passes overlap on two cores.
        self._facets: Future[dict[str, Any]] | None = (
            pool.submit(searcher.aggregate, self._query, aggregations) if aggregations else None
        )

    def top(self, limit: int) -> tuple[list[tuple[Key, Address]], int]:
        result = self._searcher.search(
            self._query, limit=limit, count=True, order_by_field=self._order_by
        )
        # `count` exists at run time but is missing from tantivy's type stubs.
        return list(result.hits), int(getattr(result, "count", 0) or 0)

    def aggregations(self) -> dict[str, Any]:
        return self._facets.result() if self._facets is not None else {}

    def in_force(self, addresses: Sequence[Address]) -> list[bool]:
        return [
            bool(v)
            for v in self._searcher.fast_field_values(self._in_force_column, list(addresses))
        ]

    def ids(self, addresses: Sequence[Address]) -> list[str]:
        return [str(self._searcher.doc(address)["id"][0]) for address in addresses]

    def records(self, addresses: Sequence[Address]) -> Sequence[bytes | str]:
        return [stored_record(self._searcher, address) for address in addresses]


def stored_record(searcher: tantivy.Searcher, address: tantivy.DocAddress) -> bytes | str:
    """A document's stored ``doc_json`` through the binding: bytes since mapping v4; an index
    built with v3 (until `gongkai index rebuild`) still answers str, and `json.loads` takes
    either."""
    record: bytes | str = searcher.doc(address)["doc_json"][0]
    return record
