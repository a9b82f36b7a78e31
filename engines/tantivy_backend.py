"""The embedded default engine: a tantivy index on disk, in-process, no server to run.

Layout under the index directory::

    <alias>.current        name of the live versioned index (swapped atomically by rebuild)
    <alias>-v1-<stamp>/    tantivy index files

Text fields hold jieba tokens joined by spaces and use tantivy's whitespace tokenizer, so the
engine scores exactly the tokens the project tokeniser produced.

Writes go through tantivy's Python binding. Searches are built as a plain tree
(`engines.tantivy_query`) and run by `engines.tantivy_passes`: in one native pass when the
extension is built (hits, count and facets from one evaluation), else by the binding.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import takewhile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tantivy
from tantivy import Query

from engines.base import (
    IN_FORCE,
    EngineError,
    EngineUnavailable,
    FacetCount,
    SearchHit,
    SearchQuery,
    SearchResult,
    document_from_fields,
    engine_fields,
    sort_values_of,
)
from engines.tantivy_passes import (
    Address,
    Key,
    OnePass,
    SearchPass,
    TwoPasses,
    open_native,
    stored_record,
)
from engines.tantivy_query import Node, query_tree
from gongkai.document import AnalyzedDocument, Document
from mappings import load_mapping, versioned_index_name

if TYPE_CHECKING:
    from gongkai_native import IndexSearcher

WRITER_HEAP_BYTES = 128 * 1024 * 1024
# Indexing threads (each gets its share of the heap). Indexing the bigram fields is most of
# the engine's work. `rebuild` is a bulk load and takes one per core: 1,900 -> 2,900-3,300
# documents/s for pre-analysed documents on two cores. An ingest keeps one: its own thread
# (analysis, the outbox) needs the other core; two made `gongkai ingest` ~5% slower (issue 9).
REBUILD_THREADS = max(1, min(os.cpu_count() or 1, 4))
INGEST_THREADS = 1
# Boolean column (mapping v5): whether the document's validity is one of IN_FORCE.
IN_FORCE_COLUMN = "in_force"
# Documents indexed between commits during a long ingest (memory bound; see `index`).
COMMIT_EVERY_DOCS = 5_000
FACET_SIZE = 50
# Facet passes that may run at once beside page searches (one per core here).
FACET_THREADS = 2


def build_schema(spec: dict[str, Any]) -> tantivy.Schema:
    """A tantivy schema from the embedded mapping file (``mappings/embedded-v5.json``)."""
    builder = tantivy.SchemaBuilder()
    for field in spec["fields"]:
        if field["type"] == "text":
            indexed = field.get("indexed", True)
            builder.add_text_field(
                field["name"],
                stored=field.get("stored", False),
                fast=field.get("fast", False),
                # tantivy has no "not indexed" text field; a raw field that nobody queries
                # costs one term per document, which is cheap.
                tokenizer_name=field["tokenizer"] if indexed else "raw",
                # Positions only where phrases are matched (the bigram fields): the mapping
                # gives the token fields "freq", as term queries and BM25 need counts only.
                index_option=field.get(
                    "index_option", "position" if field["tokenizer"] == "whitespace" else "basic"
                ),
            )
        elif field["type"] == "bytes":
            # Stored only. As a raw text field the whole record was also one term of the
            # dictionary: that cost half of all indexing time (issue 9 profile, mapping v4).
            builder.add_bytes_field(field["name"], stored=field.get("stored", False))
        elif field["type"] == "integer":
            builder.add_integer_field(
                field["name"], stored=field.get("stored", False), indexed=True, fast=True
            )
        elif field["type"] == "boolean":
            # A column read per hit (`fast_field_values`), never searched.
            builder.add_boolean_field(field["name"], stored=False, indexed=False, fast=True)
        else:
            raise EngineError(f"unknown field type in embedded mapping: {field['type']}")
    return builder.build()


class TantivyBackend:
    """`SearchBackend` on an embedded tantivy index."""

    name = "embedded"

    def __init__(self, index_dir: Path, alias: str = "gongkai-docs", one_pass: bool = True) -> None:
        """``one_pass``: search through the native extension when it is installed
        (`engines.tantivy_passes`); False keeps tantivy's Python binding (the reference)."""
        self.index_dir = Path(index_dir)
        self.alias = alias
        self.one_pass = one_pass
        self._spec = load_mapping("embedded")
        self._schema = build_schema(self._spec)
        self._field_names = {f["name"] for f in self._spec["fields"]}
        self._index: tantivy.Index | None = None
        self._writer: tantivy.IndexWriter | None = None
        self._uncommitted = 0  # documents written since the last commit
        # Name of the versioned index `_index` was opened from (to notice a rebuild).
        self._opened: str | None = None
        # Whether `_index` has the in-force column (indexes built before mapping v5 do not).
        self._in_force_column = True
        # Runs facet passes beside the page search (made on first use, ended by `close`).
        self._facet_threads: ThreadPoolExecutor | None = None
        # The native searcher of the index named `_native_name` (`_search_pass`).
        self._native: IndexSearcher | None = None
        self._native_name: str | None = None

    # -- where the live index is -------------------------------------------------------
    @property
    def _pointer(self) -> Path:
        return self.index_dir / f"{self.alias}.current"

    def _live_name(self) -> str | None:
        try:
            return self._pointer.read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None

    def _point_alias_at(self, name: str) -> None:
        tmp = self._pointer.with_suffix(".tmp")
        tmp.write_text(name, encoding="utf-8")
        os.replace(tmp, self._pointer)  # atomic: readers see the old or the new, never half

    def _new_index(self) -> tuple[str, tantivy.Index]:
        name = versioned_index_name(
            self.alias, time.strftime("%Y%m%d%H%M%S") + f"{time.time_ns() % 10**6:06d}"
        )
        path = self.index_dir / name
        path.mkdir(parents=True)
        return name, tantivy.Index(self._schema, path=str(path), reuse=False)

    def _open(self) -> tantivy.Index:
        if self._index is None:
            name = self._live_name()
            if name is None:
                raise EngineError(f"no index at {self.index_dir}: run `gongkai ingest` first")
            self._index = tantivy.Index.open(str(self.index_dir / name))
            self._opened = name
            self._in_force_column = _has_column(self._index, IN_FORCE_COLUMN)
        return self._index

    # -- SearchBackend ------------------------------------------------------------------
    def ensure_index(self) -> None:
        if self._live_name() is None:
            self.index_dir.mkdir(parents=True, exist_ok=True)
            name, index = self._new_index()
            index.writer(WRITER_HEAP_BYTES, 1).commit()
            self._point_alias_at(name)
            self._index = index
            self._opened = name
            self._in_force_column = True

    def _to_tantivy(self, analyzed: AnalyzedDocument, in_force_column: bool) -> tantivy.Document:
        fields = {
            k: v
            for k, v in engine_fields(analyzed).items()
            if k in self._field_names and v is not None and v != []
        }
        fields["doc_json"] = fields["doc_json"].encode("utf-8")
        if in_force_column:
            fields[IN_FORCE_COLUMN] = analyzed.document.validity.status in IN_FORCE
        return tantivy.Document(**fields)

    def _load(
        self, writer: tantivy.IndexWriter, docs: Iterable[AnalyzedDocument], in_force_column: bool
    ) -> int:
        """Write ``docs``; ``in_force_column``: whether the writer's index has that column."""
        n = 0
        for analyzed in docs:
            # Delete-then-add in one commit replaces the document: same id, never twice.
            writer.delete_documents_by_term("id", analyzed.document.id)
            writer.add_document(self._to_tantivy(analyzed, in_force_column))
            n += 1
        return n

    def _open_writer(self) -> tantivy.IndexWriter:
        try:
            return self._open().writer(WRITER_HEAP_BYTES, INGEST_THREADS)
        except ValueError as exc:
            # tantivy allows one writer per index directory (a lock file); while another
            # process writes, this one must wait: an outage, not a broken index.
            if "LockBusy" in str(exc):
                raise EngineUnavailable(
                    str(self.index_dir), "another process is writing to the index"
                ) from exc
            raise

    def index(self, docs: Sequence[AnalyzedDocument]) -> int:
        if self._writer is None:
            self._writer = self._open_writer()
        loaded = self._load(self._writer, docs, self._in_force_column)
        # Uncommitted writes stay in the writer's memory (~20-40 KB a document, measured):
        # a commit every COMMIT_EVERY_DOCS keeps a long ingest's memory bounded (issue 9).
        self._uncommitted += loaded
        if self._uncommitted >= COMMIT_EVERY_DOCS:
            self._writer.commit()
            self._uncommitted = 0
        return loaded

    def refresh(self) -> None:
        if self._writer is not None:
            self._writer.commit()
            self._uncommitted = 0
            # Release the writer lock so another process (e.g. a CLI ingest) can write.
            self._writer.wait_merging_threads()
            self._writer = None
        self._open().reload()
        if self._native is not None and self._native_name == self._opened:
            self._native.reload()

    def delete(self, ids: Sequence[str]) -> int:
        if self._writer is None:
            self._writer = self._open_writer()
        for doc_id in ids:
            self._writer.delete_documents_by_term("id", doc_id)
        return len(ids)

    def _follow_live(self) -> tantivy.Index:
        """The live index, opened. Another process (`gongkai index rebuild`) may have moved
        the pointer to a new index: follow it, or a long-running reader would serve the old
        one forever. Not while this object holds uncommitted writes to the index it has open."""
        if self._index is not None and self._writer is None:
            live = self._live_name()
            if live is not None and live != self._opened:
                self._index = None
        return self._open()

    def _searcher(self) -> tantivy.Searcher:
        return self._follow_live().searcher()

    def get(self, doc_id: str) -> Document | None:
        return self.get_many([doc_id]).get(doc_id)

    def get_many(self, doc_ids: Sequence[str]) -> dict[str, Document]:
        if not doc_ids:
            return {}
        searcher = self._searcher()
        query = Query.term_set_query(self._schema, "id", list(doc_ids))
        docs = (
            document_from_fields(self._stored(searcher, address))
            for _, address in searcher.search(query, len(doc_ids)).hits
        )
        return {doc.id: doc for doc in docs}

    @staticmethod
    def _stored(searcher: tantivy.Searcher, address: tantivy.DocAddress) -> dict[str, Any]:
        return {"doc_json": stored_record(searcher, address)}

    def search(self, query: SearchQuery) -> SearchResult:
        # The in-force bonus is added to each hit's score from the column, not searched: a
        # clause matching nearly every document cost a quarter of the search and of the facet
        # pass (issue 9 profile). Indexes without the column keep the clause.
        bonus = query.in_force_boost if self._in_force_column else 0.0
        tree = query_tree(
            query.model_copy(update={"in_force_boost": 0.0}) if bonus else query,
            self._field_names,
        )
        aggregations = {f: {"terms": {"field": f, "size": FACET_SIZE}} for f in query.facets}
        order_by = "sort_date" if query.sort == "newest" else None
        search = self._search_pass(tree, order_by, aggregations or None)
        page, total = self._page(search, query, bonus if query.sort == "relevance" else 0.0)
        records = search.records([address for _, _, address in page])
        hits = []
        for (key, doc_id, _), record in zip(page, records, strict=True):
            doc = document_from_fields({"doc_json": record})
            score = float(key) if query.sort == "relevance" else 0.0
            sort_values = sort_values_of(query.sort, key, doc_id or doc.id)
            hits.append(SearchHit(id=doc.id, score=score, document=doc, sort_values=sort_values))
        raw = search.aggregations()
        facets = {
            f: [
                FacetCount(value=str(b["key"]), count=int(b["doc_count"]))
                for b in raw.get(f, {}).get("buckets", [])
            ]
            for f in query.facets
        }
        return SearchResult(total=total, hits=hits, facets=facets)

    def _search_pass(
        self, tree: Node, order_by: str | None, aggregations: dict[str, Any] | None
    ) -> SearchPass:
        index = self._follow_live()
        native = self._native_searcher()
        if native is not None:
            return OnePass(native.snapshot(), tree, order_by, aggregations, IN_FORCE_COLUMN)
        return TwoPasses(
            index.searcher(),
            self._schema,
            tree,
            order_by,
            aggregations,
            IN_FORCE_COLUMN,
            self._facet_pool(),
        )

    def _native_searcher(self) -> IndexSearcher | None:
        """The native searcher of the index open now (None: `one_pass` off, or no extension)."""
        if not self.one_pass or self._opened is None:
            return None
        if self._native is None or self._native_name != self._opened:
            self._native = open_native(self.index_dir / self._opened)
            self._native_name = self._opened
        return self._native

    def _facet_pool(self) -> ThreadPoolExecutor:
        if self._facet_threads is None:
            self._facet_threads = ThreadPoolExecutor(
                max_workers=FACET_THREADS, thread_name_prefix="gongkai-facets"
            )
        return self._facet_threads

    def _page(
        self, search: SearchPass, query: SearchQuery, bonus: float
    ) -> tuple[list[tuple[Key, str | None, Address]], int]:
        """The page ``query`` asks for, in the order of `sort_values_of`.

        tantivy orders by score (or date) only and leaves ties in index order; OpenSearch
        breaks ties by ``id``. So the top hits are fetched in tantivy's order, in a window
        that grows until the page and the whole tie group at its end are inside it, and the
        tie groups that touch the page are sorted by id (ids are read only for those).
        ``search_after`` scans from the top, so a page deep in the results costs its depth.
        ``bonus`` is added to the score of hits in force; a hit outside the window may then
        still outrank those within ``bonus`` of the window's lowest score, so only hits above
        that floor count as settled.
        Returns [(score or date, id if read, address)] and the total number of matches.
        """
        after = query.search_after
        window = max(2 * (query.offset + query.limit), 64) if after is None else 256
        while True:
            found, total = search.top(window)
            raw = [(self._primary(key, query), address) for key, address in found]
            exhausted = len(raw) < window
            floor = None if exhausted or not raw else raw[-1][0] + bonus
            if bonus:
                raw = self._with_bonus(search, raw, bonus)
            page, complete = self._slice(search, raw, query, floor)
            if complete:
                return page, total
            window *= 4

    @staticmethod
    def _with_bonus(
        search: SearchPass, raw: list[tuple[Key, Address]], bonus: float
    ) -> list[tuple[Key, Address]]:
        """``raw`` with ``bonus`` added to the hits in force, best first again (a stable sort
        keeps tantivy's order among equal scores)."""
        in_force = search.in_force([address for _, address in raw])
        scored = [
            (float(primary) + bonus if flag else primary, address)
            for (primary, address), flag in zip(raw, in_force, strict=True)
        ]
        return sorted(scored, key=lambda entry: -entry[0])

    @staticmethod
    def _primary(key: Any, query: SearchQuery) -> Key:
        return float(key) if query.sort == "relevance" else int(key)

    def _slice(
        self,
        search: SearchPass,
        raw: list[tuple[Key, Address]],
        query: SearchQuery,
        floor: Key | None,
    ) -> tuple[list[tuple[Key, str | None, Address]], bool]:
        """The page within ``raw`` (hits best first), and whether it is certain. Hits at or
        below ``floor`` may have equals or betters outside the window (None: the window holds
        every match); at least the last tie group of an unfinished window is such."""
        # Tie groups: runs of equal score/date, [start, end) in ``raw``.
        groups: list[tuple[int, int]] = []
        for i in range(len(raw)):
            if i == 0 or raw[i][0] != raw[i - 1][0]:
                groups.append((i, i + 1))
            else:
                groups[-1] = (groups[-1][0], i + 1)
        settled = [g for g in groups if floor is None or raw[g[0]][0] > floor]
        ordered: list[tuple[Key, str | None, Address]] = []
        after = query.search_after
        cursor_primary = None if after is None else self._primary(after[0], query)
        for start, end in settled:
            # A lone hit needs no id, unless it ties with the cursor (the id decides then).
            if end - start == 1 and raw[start][0] != cursor_primary:
                primary, address = raw[start]
                ordered.append((primary, None, address))
            else:
                ordered.extend(self._by_id(search, raw[start:end]))
            if after is None and len(ordered) >= query.offset + query.limit:
                break
            if after is not None and ordered and self._beyond(ordered, after, query.limit):
                break
        if after is None:
            page = ordered[query.offset : query.offset + query.limit]
            return page, floor is None or len(ordered) >= query.offset + query.limit
        cursor_id = str(after[1])
        following = [
            entry
            for entry in ordered
            if entry[0] < cursor_primary  # type: ignore[operator]
            or (entry[0] == cursor_primary and (entry[1] or "") > cursor_id)
        ]
        page = following[: query.limit]
        return page, floor is None or len(following) >= query.limit

    @staticmethod
    def _beyond(
        ordered: list[tuple[Key, str | None, Address]],
        after: list[float | int | str],
        limit: int,
    ) -> bool:
        """Whether ``ordered`` already holds ``limit`` hits below the cursor's score/date."""
        cursor_primary = after[0]
        below = takewhile(lambda entry: entry[0] < cursor_primary, reversed(ordered))  # type: ignore[operator]
        return sum(1 for _ in below) >= limit

    @staticmethod
    def _by_id(
        search: SearchPass, group: list[tuple[Key, Address]]
    ) -> list[tuple[Key, str | None, Address]]:
        ids = search.ids([address for _, address in group])
        with_ids = [
            (primary, doc_id, address)
            for (primary, address), doc_id in zip(group, ids, strict=True)
        ]
        return sorted(with_ids, key=lambda entry: entry[1] or "")

    def suggest_titles(self, prefix: str, limit: int = 10) -> list[str]:
        if not prefix:
            return []
        # The filter counts live documents only: a deleted document's title may linger in
        # the term dictionary until segments merge.
        found = self._searcher().terms_with_prefix(
            "title", prefix, filter_query=Query.all_query(), limit=limit * 2
        )
        return sorted(str(term) for term, count in found if count)[:limit]

    def count(self) -> int:
        return int(self._searcher().num_docs)

    def iter_documents(self, batch_size: int = 1000) -> Iterator[Document]:
        # One searcher is a snapshot: writes made while iterating are not seen. Collecting
        # every address once costs a few bytes per document; records are read one at a time
        # from the in-process store, so ``batch_size`` has nothing to bound here.
        searcher = self._searcher()
        total = int(searcher.num_docs)
        if total == 0:
            return
        for _, address in searcher.search(Query.all_query(), limit=total).hits:
            yield document_from_fields(self._stored(searcher, address))

    def rebuild(self, docs: Iterable[AnalyzedDocument]) -> str:
        self.index_dir.mkdir(parents=True, exist_ok=True)
        old = self._live_name()
        name, index = self._new_index()
        writer = index.writer(WRITER_HEAP_BYTES, REBUILD_THREADS)
        self._load(writer, docs, in_force_column=True)
        writer.commit()
        writer.wait_merging_threads()
        index.reload()
        self._point_alias_at(name)
        self._index = index
        self._opened = name
        self._in_force_column = True
        if old and old != name:
            shutil.rmtree(self.index_dir / old, ignore_errors=True)
        return name

    def health(self) -> dict[str, Any]:
        return {
            "engine": self.name,
            "path": str(self.index_dir),
            "index": self._live_name(),
            "documents": self.count() if self._live_name() else 0,
        }

    def drop(self) -> None:
        self._writer = None
        self._index = None
        self._opened = None
        self._native = None
        if self.index_dir.exists():
            for path in self.index_dir.glob(f"{self.alias}-v*"):
                shutil.rmtree(path, ignore_errors=True)
            self._pointer.unlink(missing_ok=True)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.rollback()
            self._writer = None
        self._index = None
        self._native = None
        if self._facet_threads is not None:
            self._facet_threads.shutdown(wait=True)
            self._facet_threads = None


def _has_column(index: tantivy.Index, name: str) -> bool:
    """Whether ``index`` has the fast field ``name`` (its schema is the one it was built with)."""
    try:
        index.searcher().fast_field_values(name, [])
    except ValueError:
        return False
    return True
