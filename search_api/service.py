"""Search as the API and the CLI present it: query in, ranked hits with snippets out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from pydantic import BaseModel, Field

from analysis.highlight import highlight, highlight_whole
from analysis.synonyms import Thesaurus
from analysis.tokenizer import GovTokenizer
from engines.base import (
    FacetCount,
    SearchBackend,
    SearchHit,
    SearchQuery,
    SearchResult,
    sort_values_of,
)
from gongkai.document import Document
from search_api.cursor import BadCursor, Cursor, decode_cursor, encode_cursor, search_key
from search_api.hybrid import FUSION_DEPTH, DenseRanking, constrained, fuse, named_by_number
from search_api.queries import BODY_BOOST, TITLE_BOOST, build_search_query
from search_api.rerank import RERANK_DEPTH, apply_recency
from search_api.suggest import Suggester


class HitView(BaseModel):
    """One search hit as shown to people and programs."""

    id: str
    title: str
    title_html: str = Field(description="Title, HTML-escaped, query terms in <mark>.")
    score: float
    snippet: str = Field(description="Body excerpt, HTML-escaped, query terms in <mark>.")
    url: str | None = None
    agency: list[str] = Field(default_factory=list)
    doc_number: str | None = None
    doc_type: str | None = None
    date_written: date | None = None
    date_published: date | None = None
    validity: str = "unknown"


class SearchResponse(BaseModel):
    query: str
    total: int
    offset: int | None = Field(
        description="Rank of the first hit, from 0 (null on a cursor page deep in the results)."
    )
    limit: int
    hits: list[HitView]
    next_cursor: str | None = Field(
        default=None,
        description="Pass as `cursor` (same query, sort and filters) for the next page; "
        "null when there is no next page. Cursors page beyond the offset cap.",
    )
    facets: dict[str, list[FacetCount]] = Field(default_factory=dict)
    did_you_mean: list[str] = Field(
        default_factory=list,
        description="Other spellings to try when the query's words found nothing (hits may "
        "still come from the dense stage).",
    )


def hit_view(hit: SearchHit, terms: list[str]) -> HitView:
    doc = hit.document
    return HitView(
        id=doc.id,
        title=doc.title,
        title_html=highlight_whole(doc.title, terms),
        score=round(hit.score, 4),
        snippet=highlight(doc.body, terms),
        url=doc.url,
        agency=doc.agency,
        doc_number=doc.doc_number.raw if doc.doc_number else None,
        doc_type=doc.doc_type,
        date_written=doc.date_written,
        date_published=doc.date_published,
        validity=doc.validity.status,
    )


class SearchService:
    """Joins the tokeniser, the engine and the highlighter; holds no other state."""

    def __init__(
        self,
        backend: SearchBackend,
        tokenizer: GovTokenizer,
        max_query_chars: int = 1000,
        thesaurus: Thesaurus | None = None,
        dense: DenseRanking | None = None,
    ) -> None:
        self.backend = backend
        # Optional dense stage (search_api/hybrid.py): fuses embeddings into relevance order.
        self.dense = dense
        self.tokenizer = tokenizer
        self.max_query_chars = max_query_chars
        self.thesaurus = thesaurus if thesaurus is not None else Thesaurus()
        self.suggester = Suggester(backend, self.thesaurus)

    def search(
        self,
        text: str,
        *,
        limit: int = 10,
        offset: int = 0,
        filters: dict[str, list[str]] | None = None,
        year_from: int | None = None,
        year_to: int | None = None,
        sort: str = "relevance",
        facets: list[str] | None = None,
        cursor: str | None = None,
        recency: float = 0.0,
        today: date | None = None,
    ) -> SearchResponse:
        """One page of ranked hits. ``cursor`` (a `SearchResponse.next_cursor`) continues a
        search instead of ``offset``; ``recency`` > 0 is a half-life in years by which newer
        documents gain (relevance order only); ``today`` anchors their age."""
        query = build_search_query(
            text,
            self.tokenizer,
            self.thesaurus,
            limit=limit,
            offset=offset,
            filters=filters,
            year_from=year_from,
            year_to=year_to,
            sort=sort,
            facets=facets,
            max_query_chars=self.max_query_chars,
        )
        key = search_key(
            text[: self.max_query_chars],
            query.sort,
            query.filters,
            query.year_from,
            query.year_to,
            recency,
        )
        hybrid = (
            self.dense is not None
            and query.sort == "relevance"
            and bool(query.terms or query.clauses)
            and self.dense.ready()
        )
        # Re-scoring reorders the top window: pages inside it are cut from the re-scored list.
        window = RERANK_DEPTH if query.sort == "relevance" and (recency > 0 or hybrid) else 0
        start: int | None = offset
        after = None
        if cursor is not None:
            found = decode_cursor(cursor, key)
            if found.position is not None and found.position > window:
                raise BadCursor("malformed cursor: position outside the re-scored window")
            start, after = found.position, found.sort_values

        # How many hits the engine itself found for the re-scored window (None: not asked).
        lexical_found: int | None = None

        def rescore(hits: list[SearchHit]) -> list[SearchHit]:
            nonlocal lexical_found
            lexical_found = len(hits)
            if recency > 0:
                hits = apply_recency(hits, today or date.today(), recency)
            return self._fuse(text, query, hits)[:window] if hybrid else hits

        result, hits, more = self._page(query, start, after, window, rescore)
        response = self._respond(text, result.model_copy(update={"hits": hits}), query)
        response.offset = start
        if more and hits:
            end = None if start is None else start + len(hits)
            if end is not None and end <= window:
                response.next_cursor = encode_cursor(Cursor(search_key=key, position=end))
            else:
                last = hits[-1].sort_values
                response.next_cursor = encode_cursor(Cursor(search_key=key, sort_values=last))
        # The dense stage finds neighbours for any text, a misspelt one too: what the words
        # themselves found decides whether to offer spellings.
        if (response.total == 0 or lexical_found == 0) and text.strip():
            response.did_you_mean = self.suggester.did_you_mean(text)
        return response

    def _page(
        self,
        query: SearchQuery,
        start: int | None,
        after: list[float | int | str] | None,
        window: int,
        rescore: Callable[[list[SearchHit]], list[SearchHit]],
    ) -> tuple[SearchResult, list[SearchHit], bool]:
        """(engine result for total and facets, the page's hits, whether more follow)."""
        limit = query.limit
        if after is not None or start is None:
            # One hit more than asked says whether a next page exists.
            probe = query.model_copy(
                update={"search_after": after, "offset": 0, "limit": limit + 1}
            )
            result = self.backend.search(probe)
            return result, result.hits[:limit], len(result.hits) > limit
        if start >= window:
            result = self.backend.search(query.model_copy(update={"offset": start}))
            return result, result.hits, start + len(result.hits) < result.total
        head = self.backend.search(query.model_copy(update={"offset": 0, "limit": window}))
        ranked = rescore(head.hits)
        hits = ranked[start : start + limit]
        if start + limit > window and len(head.hits) == window:
            # Documents the dense stage lifted into the window are not shown again after it.
            shown = {h.id for h in ranked}
            lifted = len(shown - {h.id for h in head.hits})
            need = start + limit - window
            tail = query.model_copy(update={"offset": window, "limit": need + lifted, "facets": []})
            hits += [h for h in self.backend.search(tail).hits if h.id not in shown][:need]
        # Dense-only candidates are found beside the engine's matches, not counted by it.
        head.total = max(head.total, len(ranked))
        return head, hits, start + len(hits) < head.total

    def _fuse(self, text: str, query: SearchQuery, hits: list[SearchHit]) -> list[SearchHit]:
        """``hits`` (the lexical window) fused with the dense top hits (search_api/hybrid.py).
        Free-text queries take dense candidates from the whole index (fetched from the engine,
        so dropped documents never come back); constrained ones only from ``hits``."""
        assert self.dense is not None
        probe = self.dense.probe(text[: self.max_query_chars])
        similarity = {h.id: s for h in hits if (s := probe.similarity(h.document)) is not None}
        named = named_by_number(query, hits[:FUSION_DEPTH])
        if constrained(query):
            dense = sorted(
                (h for h in hits if h.id in similarity), key=lambda h: (-similarity[h.id], h.id)
            )
            return fuse(hits, dense, similarity, named=named)
        by_id = {h.id: h for h in hits}
        dense = []
        top = [doc_id for doc_id, _ in probe.top(2 * FUSION_DEPTH)]
        # The first `FUSION_DEPTH` ids usually suffice; the next ones (twice the depth) stand
        # in for vectors of documents since dropped or changed. Each part's documents come
        # from the engine in one request (one round trip on a cluster, not one per id).
        for part in (top[:FUSION_DEPTH], top[FUSION_DEPTH:]):
            if len(dense) == FUSION_DEPTH:
                break
            fetched = self.backend.get_many([i for i in part if i not in by_id])
            for doc_id in part:
                if len(dense) == FUSION_DEPTH:
                    break
                hit = by_id.get(doc_id)
                if hit is None:
                    doc = fetched.get(doc_id)
                    score = probe.similarity(doc) if doc is not None else None
                    if doc is None or score is None:
                        continue
                    hit = SearchHit(
                        id=doc.id,
                        score=0.0,
                        document=doc,
                        sort_values=sort_values_of("relevance", 0.0, doc.id),
                    )
                    similarity[doc.id] = score
                if hit.id in similarity:
                    dense.append(hit)
        return fuse(hits, dense, similarity, named=named)

    def similar(self, doc: Document, limit: int = 10) -> SearchResponse:
        """Documents like ``doc`` (never ``doc`` itself), best first."""
        terms = similar_query_terms(doc, self.tokenizer)
        if not terms:  # nothing to compare on: no query would mean "everything"
            return SearchResponse(query="", total=0, offset=0, limit=limit, hits=[])
        query = SearchQuery(
            terms=terms, field_boosts={"title": TITLE_BOOST, "body": BODY_BOOST}, limit=limit + 1
        )
        result = self.backend.search(query)
        result.hits = [h for h in result.hits if h.id != doc.id][:limit]
        result.total = max(result.total - 1, 0)
        return self._respond(" ".join(terms), result, query.model_copy(update={"limit": limit}))

    def _respond(self, text: str, result: SearchResult, query: SearchQuery) -> SearchResponse:
        return SearchResponse(
            query=text,
            total=result.total,
            offset=query.offset,
            limit=query.limit,
            hits=[hit_view(h, query.terms) for h in result.hits],
            facets=result.facets,
        )


# Words taken from a document to find others like it: its keywords and title words.
SIMILAR_TERMS = 16


def similar_query_terms(doc: Document, tokenizer: GovTokenizer) -> list[str]:
    """Query terms for 'more like this': the document's 主题词, else its title words."""
    words = [*doc.subject_words, *tokenizer.query_terms(doc.title)]
    return list(dict.fromkeys(words))[:SIMILAR_TERMS]
