"""The embedded default engine: a tantivy index on disk, in-process, no server to run.

Layout under the index directory::

    <alias>.current        name of the live versioned index (swapped atomically by rebuild)
    <alias>-v1-<stamp>/    tantivy index files

Text fields hold jieba tokens joined by spaces and use tantivy's whitespace tokenizer, so the
engine scores exactly the tokens the project tokeniser produced.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import takewhile
from pathlib import Path
from typing import Any

import tantivy
from tantivy import Occur, Query

from engines.base import (
    IN_FORCE,
    BoostedField,
    Clause,
    EngineError,
    EngineUnavailable,
    FacetCount,
    Match,
    SearchHit,
    SearchQuery,
    SearchResult,
    document_from_fields,
    engine_fields,
    sort_values_of,
)
from gongkai.document import AnalyzedDocument, Document
from mappings import load_mapping, versioned_index_name

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

    def __init__(self, index_dir: Path, alias: str = "gongkai-docs") -> None:
        self.index_dir = Path(index_dir)
        self.alias = alias
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

    def delete(self, ids: Sequence[str]) -> int:
        if self._writer is None:
            self._writer = self._open_writer()
        for doc_id in ids:
            self._writer.delete_documents_by_term("id", doc_id)
        return len(ids)

    def _searcher(self) -> tantivy.Searcher:
        # Another process (`gongkai index rebuild`) may have moved the pointer to a new
        # index: follow it, or a long-running reader would serve the old one forever.
        # Not while this object holds uncommitted writes to the index it has open.
        if self._index is not None and self._writer is None:
            live = self._live_name()
            if live is not None and live != self._opened:
                self._index = None
        return self._open().searcher()

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
        # bytes since mapping v4; an index built with v3 (until `gongkai index rebuild`)
        # still answers str, and `json.loads` takes either.
        return {"doc_json": searcher.doc(address)["doc_json"][0]}

    @staticmethod
    def _boosted(query: tantivy.Query, boost: float) -> tuple[Occur, Query]:
        return (Occur.Should, Query.boost_query(query, boost))

    def _match_query(self, match: Match, field: str) -> tantivy.Query:
        if match.kind == "doc_number":
            return Query.term_set_query(self._schema, "doc_number", list(match.values))
        if match.kind == "term" or len(match.values) == 1:
            suffix = "_tokens" if match.kind == "term" else "_grams"
            return Query.term_query(self._schema, field + suffix, match.values[0])
        return Query.phrase_query(self._schema, field + "_grams", list(match.values))

    def _clause_query(self, clause: Clause, boosts: dict[BoostedField, float]) -> tantivy.Query:
        alternatives = [
            self._boosted(self._match_query(m, field), boosts[field] * clause.boost)
            for m in clause.matches
            for field in (clause.fields if m.kind != "doc_number" else clause.fields[:1])
        ]
        return Query.boolean_query(alternatives)

    def _scored_terms(self, query: SearchQuery) -> list[tuple[Occur, Query]]:
        """Free-text BM25: every token and bigram in every field, with the field boosts."""
        per_kind = (("_tokens", query.terms, 1.0), ("_grams", query.grams, query.gram_boost))
        return [
            self._boosted(Query.term_query(self._schema, field + suffix, value), boost * weight)
            for suffix, values, weight in per_kind
            for value in values
            for field, boost in query.field_boosts.items()
        ]

    def build_query(self, query: SearchQuery) -> tantivy.Query:
        """The tantivy query for an engine-neutral `SearchQuery` (BM25 + filters)."""
        must = [
            self._clause_query(c, query.field_boosts) for c in query.clauses if c.occur == "must"
        ]
        must_not = [
            self._clause_query(c, query.field_boosts)
            for c in query.clauses
            if c.occur == "must_not"
        ]
        # Anything that ranks: free-text terms and optional clauses (a doc number, synonyms).
        ranking = [
            (Occur.Should, self._clause_query(c, query.field_boosts))
            for c in query.clauses
            if c.occur == "should"
        ]
        scored = self._scored_terms(query)
        if scored:
            ranking.append((Occur.Should, Query.boolean_query(scored)))
        clauses: list[tuple[Occur, Query]] = [(Occur.Must, q) for q in must]
        clauses += [(Occur.MustNot, q) for q in must_not]
        if ranking:
            # Without required clauses, one ranking part must match (OpenSearch:
            # minimum_should_match=1); beside required clauses they only rank.
            clauses.append((Occur.Should if must else Occur.Must, Query.boolean_query(ranking)))
        for field, values in query.filters.items():
            if field not in self._field_names:
                raise EngineError(f"unknown filter field: {field}")
            if values:
                clauses.append((Occur.Must, Query.term_set_query(self._schema, field, values)))
        if query.year_from is not None or query.year_to is not None:
            clauses.append(
                (
                    Occur.Must,
                    Query.range_query(
                        self._schema,
                        "year",
                        tantivy.FieldType.Integer,
                        query.year_from,
                        query.year_to,
                    ),
                )
            )
        if not any(occur in (Occur.Must, Occur.Should) for occur, _ in clauses):
            clauses.append((Occur.Must, Query.all_query()))  # only filters / exclusions
        if query.in_force_boost:
            # Optional beside the Must clauses: a constant bonus for documents still in force.
            in_force = Query.term_set_query(self._schema, "validity", list(IN_FORCE))
            clauses.append(self._boosted(in_force, query.in_force_boost))
        return Query.boolean_query(clauses)

    def search(self, query: SearchQuery) -> SearchResult:
        searcher = self._searcher()
        # The in-force bonus is added to each hit's score from the column, not searched: a
        # clause matching nearly every document cost a quarter of the search and of the facet
        # pass (issue 9 profile). Indexes without the column keep the clause.
        bonus = query.in_force_boost if self._in_force_column else 0.0
        native = self.build_query(
            query.model_copy(update={"in_force_boost": 0.0}) if bonus else query
        )
        # The facet pass runs beside the page search: tantivy releases the GIL while it
        # searches, and the two passes over the matches (each ~2-3 ms for a question at 100k
        # documents) then overlap on the two cores instead of adding up (issue 9 profile).
        facets_pending = (
            self._facet_pool().submit(self._facets, searcher, native, query.facets)
            if query.facets
            else None
        )
        page, total = self._page(
            searcher, native, query, bonus if query.sort == "relevance" else 0.0
        )
        hits = []
        for key, doc_id, address in page:
            doc = document_from_fields(self._stored(searcher, address))
            score = float(key) if query.sort == "relevance" else 0.0
            sort_values = sort_values_of(query.sort, key, doc_id or doc.id)
            hits.append(SearchHit(id=doc.id, score=score, document=doc, sort_values=sort_values))
        facets = facets_pending.result() if facets_pending is not None else {}
        return SearchResult(total=total, hits=hits, facets=facets)

    def _facet_pool(self) -> ThreadPoolExecutor:
        if self._facet_threads is None:
            self._facet_threads = ThreadPoolExecutor(
                max_workers=FACET_THREADS, thread_name_prefix="gongkai-facets"
            )
        return self._facet_threads

    def _page(
        self, searcher: tantivy.Searcher, native: tantivy.Query, query: SearchQuery, bonus: float
    ) -> tuple[list[tuple[float | int, str | None, tantivy.DocAddress]], int]:
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
        order_by = "sort_date" if query.sort == "newest" else None
        after = query.search_after
        window = max(2 * (query.offset + query.limit), 64) if after is None else 256
        while True:
            result = searcher.search(native, limit=window, count=True, order_by_field=order_by)
            # `count` exists at run time but is missing from tantivy's type stubs.
            total = int(getattr(result, "count", 0) or 0)
            raw = [(self._primary(key, query), address) for key, address in result.hits]
            exhausted = len(raw) < window
            floor = None if exhausted or not raw else raw[-1][0] + bonus
            if bonus:
                raw = self._with_bonus(searcher, raw, bonus)
            page, complete = self._slice(searcher, raw, query, floor)
            if complete:
                return page, total
            window *= 4

    @staticmethod
    def _with_bonus(
        searcher: tantivy.Searcher, raw: list[tuple[float | int, tantivy.DocAddress]], bonus: float
    ) -> list[tuple[float | int, tantivy.DocAddress]]:
        """``raw`` with ``bonus`` added to the hits in force, best first again (a stable sort
        keeps tantivy's order among equal scores)."""
        in_force = searcher.fast_field_values(IN_FORCE_COLUMN, [address for _, address in raw])
        scored = [
            (float(primary) + bonus if flag else primary, address)
            for (primary, address), flag in zip(raw, in_force, strict=True)
        ]
        return sorted(scored, key=lambda entry: -entry[0])

    @staticmethod
    def _primary(key: Any, query: SearchQuery) -> float | int:
        return float(key) if query.sort == "relevance" else int(key)

    def _slice(
        self,
        searcher: tantivy.Searcher,
        raw: list[tuple[float | int, tantivy.DocAddress]],
        query: SearchQuery,
        floor: float | int | None,
    ) -> tuple[list[tuple[float | int, str | None, tantivy.DocAddress]], bool]:
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
        ordered: list[tuple[float | int, str | None, tantivy.DocAddress]] = []
        after = query.search_after
        cursor_primary = None if after is None else self._primary(after[0], query)
        for start, end in settled:
            # A lone hit needs no id, unless it ties with the cursor (the id decides then).
            if end - start == 1 and raw[start][0] != cursor_primary:
                primary, address = raw[start]
                ordered.append((primary, None, address))
            else:
                ordered.extend(self._by_id(searcher, raw[start:end]))
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
        ordered: list[tuple[float | int, str | None, tantivy.DocAddress]],
        after: list[float | int | str],
        limit: int,
    ) -> bool:
        """Whether ``ordered`` already holds ``limit`` hits below the cursor's score/date."""
        cursor_primary = after[0]
        below = takewhile(lambda entry: entry[0] < cursor_primary, reversed(ordered))  # type: ignore[operator]
        return sum(1 for _ in below) >= limit

    def _by_id(
        self, searcher: tantivy.Searcher, group: list[tuple[float | int, tantivy.DocAddress]]
    ) -> list[tuple[float | int, str | None, tantivy.DocAddress]]:
        with_ids = [
            (primary, str(searcher.doc(address)["id"][0]), address) for primary, address in group
        ]
        return sorted(with_ids, key=lambda entry: entry[1] or "")

    def _facets(
        self, searcher: tantivy.Searcher, native: tantivy.Query, fields: Sequence[str]
    ) -> dict[str, list[FacetCount]]:
        aggs = {f: {"terms": {"field": f, "size": FACET_SIZE}} for f in fields}
        raw = searcher.aggregate(native, aggs)
        return {
            f: [
                FacetCount(value=str(b["key"]), count=int(b["doc_count"]))
                for b in raw.get(f, {}).get("buckets", [])
            ]
            for f in fields
        }

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
        if self.index_dir.exists():
            for path in self.index_dir.glob(f"{self.alias}-v*"):
                shutil.rmtree(path, ignore_errors=True)
            self._pointer.unlink(missing_ok=True)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.rollback()
            self._writer = None
        self._index = None
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
