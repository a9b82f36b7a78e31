"""Search as the API and the CLI present it: query in, ranked hits with snippets out."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from analysis.highlight import highlight, highlight_whole
from analysis.synonyms import Thesaurus
from analysis.tokenizer import GovTokenizer
from engines.base import FacetCount, SearchBackend, SearchHit
from search_api.queries import build_search_query


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
    offset: int
    limit: int
    hits: list[HitView]
    facets: dict[str, list[FacetCount]] = Field(default_factory=dict)


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
    ) -> None:
        self.backend = backend
        self.tokenizer = tokenizer
        self.max_query_chars = max_query_chars
        self.thesaurus = thesaurus if thesaurus is not None else Thesaurus()

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
    ) -> SearchResponse:
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
        result = self.backend.search(query)
        return SearchResponse(
            query=text,
            total=result.total,
            offset=query.offset,
            limit=query.limit,
            hits=[hit_view(h, query.terms) for h in result.hits],
            facets=result.facets,
        )
